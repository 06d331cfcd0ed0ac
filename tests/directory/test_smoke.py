from idaas.directory import service


def test_account_fixture(account):
    assert service.find_by_identifier("ALICE").id == account.id
