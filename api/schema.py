"""drf-spectacular: describe the device token scheme in the OpenAPI document."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.DeviceTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "设备令牌：在“接口令牌”页面创建，格式为 `Token <令牌>`。",
        }
