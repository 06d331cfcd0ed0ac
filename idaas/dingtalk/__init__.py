"""DingTalk integration: the HTTP client, callback crypto, errors and client-side flow control.

Importing this package does nothing; the login and callback blueprints come with their own issue.
"""
