#!/usr/bin/env python3
"""Drives RegistryEvents' webhook API with Azure's own SDK
(azure-mgmt-containerregistry), unchanged, pointed at our base URL.

Usage: python3 scripts/azure-sdk-webhooks.py BASE_URL ADMIN_TOKEN RECEIVER_URL
Prints one JSON object with what each call returned; exits 1 on any failure.
"""
import json
import sys

from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry.models import WebhookCreateParameters, WebhookUpdateParameters


class StaticToken:
    """A credential object the client insists on; our policy below sends the token."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, 4102444800)


class AdminToken(SansIOHTTPPolicy):
    # Azure's bearer policy refuses plain http; this sends the same header.
    def __init__(self, token):
        super().__init__()
        self.token = token

    def on_request(self, request):
        request.http_request.headers["Authorization"] = f"Bearer {self.token}"


def main(base_url, token, receiver):
    client = ContainerRegistryManagementClient(
        StaticToken(token), "00000000-0000-0000-0000-000000000000", base_url=base_url,
        authentication_policy=AdminToken(token), polling_interval=0)
    webhooks = client.webhooks
    group, registry, name = "rg1", "myregistry", "sdkhook01"
    result = {}
    created = webhooks.begin_create(group, registry, name, WebhookCreateParameters(
        location="westeurope", tags={"from": "sdk"}, service_uri=receiver,
        custom_headers={"Authorization": "Bearer from-sdk"}, actions=["push", "delete"], scope="hello:*")).result()
    result["created"] = {"name": created.name, "type": created.type, "actions": created.actions,
                         "scope": created.scope, "status": created.status,
                         "provisioningState": created.provisioning_state, "location": created.location}
    shown = webhooks.get(group, registry, name)
    result["shown"] = {"name": shown.name, "status": shown.status}
    result["listed"] = [w.name for w in webhooks.list(group, registry)]
    updated = webhooks.begin_update(group, registry, name, WebhookUpdateParameters(status="disabled")).result()
    result["updated"] = {"status": updated.status, "actions": updated.actions}
    config = webhooks.get_callback_config(group, registry, name)
    result["config"] = {"serviceUri": config.service_uri, "customHeaders": config.custom_headers}
    ping = webhooks.ping(group, registry, name)
    result["ping"] = {"id": ping.id}
    events = list(webhooks.list_events(group, registry, name))
    result["events"] = [{"id": e.id, "statusCode": e.event_response_message.status_code,
                         "action": e.event_request_message.content.action} for e in events]
    webhooks.begin_delete(group, registry, name).result()
    result["afterDelete"] = [w.name for w in webhooks.list(group, registry)]
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except Exception as error:  # report, then fail the test
        print(f"azure sdk call failed: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
