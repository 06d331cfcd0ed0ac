"""Forms of the portal pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional


class ProfileForm(FlaskForm):
    """The profile fields a person may edit (the view drops those the policy does not allow)."""

    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=128)])
    email = StringField(_l("Email"), validators=[Optional(), Length(max=254)])
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=32)])
    locale = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("", _l("Browser default")),
            SelectChoice("zh_CN", "中文"),
            SelectChoice("en", "English"),
        ],
        validators=[Optional()],
    )
