"""Completion pushes over APNs, and the device registry they go to.

The policy's promise: the device token is used only to deliver job-completion
notifications. `registry` keeps the tokens, `token` the provider JWT, `client` speaks the
APNs HTTP/2 API, `service` sends to a user's devices and builds the completion handler.
"""

from liveai.push.client import (
    APPLE_HOSTS,
    ApnsClient,
    Notification,
    PushOutcome,
    PushResult,
    Target,
    make_http_client,
)
from liveai.push.pusher import (
    ApnsConfig,
    Pusher,
    apns_config,
    apns_status,
    make_signer,
    require_apns_config,
)
from liveai.push.registry import (
    device_to_dict,
    devices_of,
    find_device,
    forget_invalid_token,
    get_device,
    list_devices,
    normalise_token,
    register_device,
    remove_device,
)
from liveai.push.service import (
    DeviceOutcome,
    completion_handler,
    completion_message,
    notify_task_finished,
    send_test,
    send_to_user,
)
from liveai.push.token import ProviderToken, load_signing_key

__all__ = [
    "APPLE_HOSTS",
    "ApnsClient",
    "ApnsConfig",
    "DeviceOutcome",
    "Notification",
    "ProviderToken",
    "PushOutcome",
    "PushResult",
    "Pusher",
    "Target",
    "apns_config",
    "apns_status",
    "completion_handler",
    "completion_message",
    "device_to_dict",
    "devices_of",
    "find_device",
    "forget_invalid_token",
    "get_device",
    "list_devices",
    "load_signing_key",
    "make_http_client",
    "make_signer",
    "normalise_token",
    "notify_task_finished",
    "register_device",
    "remove_device",
    "require_apns_config",
    "send_test",
    "send_to_user",
]
