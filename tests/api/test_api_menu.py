"""The device-token pages sit in the account menu only for users who hold a token or ask for one."""

from django.urls import reverse

from api.credentials import create_device_token, revoke_device_token

MENU_LINK = '<span class="mdc-list-item__content">接口令牌</span>'


def test_grassroots_user_without_token_sees_no_api_menu(client, personas):
    client.force_login(personas["grid_member"])
    page = client.get(reverse("grid:mobile")).content.decode()
    assert MENU_LINK not in page and "接口文档" not in page


def test_user_holding_a_token_sees_the_api_menu_until_revoked(client, personas):
    user = personas["township_office"]
    token, _key = create_device_token(by=user, name="执法记录仪")
    client.force_login(user)
    assert MENU_LINK in client.get(reverse("grid:events")).content.decode()
    revoke_device_token(token, by=user)
    assert MENU_LINK not in client.get(reverse("grid:events")).content.decode()


def test_asking_for_a_token_from_the_home_page_shows_the_menu_there(client, personas):
    client.force_login(personas["township_office"])
    home = client.get("/").content.decode()
    assert f'href="{reverse("api_tokens")}"' in home  # 申请接口令牌 beside 两步验证
    assert MENU_LINK in client.get(reverse("api_tokens")).content.decode()
