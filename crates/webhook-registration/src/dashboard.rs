//! The dashboard steps for the providers whose webhooks have no management API.

use std::fmt::Write as _;

use url::Url;

use crate::Provider;

/// The steps to set up `provider`'s webhook by hand; `None` for API providers.
pub(crate) fn instructions(provider: Provider, webhook_url: &Url) -> Option<String> {
    let mut text = String::new();
    match provider {
        Provider::Snipcart => {
            let events = providers::snipcart::EVENTS.join(", ");
            let _ = write!(
                text,
                "Snipcart: set the webhook in the Snipcart dashboard (https://app.snipcart.com).\n\
                 1. Open Account (top right) → Store configurations → Webhooks.\n\
                 2. Paste this URL as the webhook URL and save:\n   {webhook_url}\n\
                 3. Snipcart sends every event to that one URL. The integration API acts on\n   \
                    these: {events}; it acknowledges the others.\n\
                 4. Snipcart signs nothing: each delivery's X-Snipcart-RequestToken is confirmed\n   \
                    with your secret API key. Create one under Account → API keys → Secret API\n   \
                    keys and store it as secret_api_key in the stack's snipcart secret\n   \
                    (SNIPCART_SECRET_API_KEY when running locally).\n\
                 5. Test and live mode keep separate settings: repeat steps 1-4 in each mode you use,\n   \
                    with that mode's secret API key.\n"
            );
        }
        Provider::Foxy => {
            let events = providers::foxy::EVENTS.join(", ");
            let _ = write!(
                text,
                "Foxy: set the webhook in the Foxy admin (https://admin.foxycart.com).\n\
                 1. Open Settings → Webhooks and add a webhook.\n\
                 2. Format: JSON. Resource: transaction.\n\
                 3. Paste this URL as the webhook URL:\n   {webhook_url}\n\
                 4. Query: zoom=items (the integration API reads the embedded items).\n\
                 5. Encryption key: the value of the stack's foxy secret webhook_secret\n   \
                    (FOXY_WEBHOOK_SECRET when running locally); Foxy signs each delivery with it\n   \
                    in Foxy-Webhook-Signature.\n\
                 6. Save. The integration API acts on these events: {events}; it acknowledges\n   \
                    the others.\n"
            );
        }
        _ => return None,
    }
    Some(text)
}
