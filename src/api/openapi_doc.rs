//! The OpenAPI document as served (`/openapi.json`) and committed (`meetplane openapi`): what
//! poem-openapi generates, plus what it cannot express.
//!
//! - `links` from the operations that create a resource to those that take its id, so that
//!   stateful clients (schemathesis' stateful phase, generated SDKs) can follow them instead of
//!   guessing ids that do not exist;
//! - `enum`s of string fields whose values are lists of the domain (`events`, webhook `type`):
//!   poem-openapi validators have no enum, and a second Rust enum would repeat the list;
//! - `additionalProperties: false` on bodies parsed with serde's `deny_unknown_fields`
//!   (poem-openapi's own attribute of that name checks but does not document);
//! - the item type of lists whose items have validators (poem-openapi replaces the item schema
//!   by one of any type carrying the validators).
//!
//! The result has its object keys sorted: a `serde_json::Value` keeps keys in insertion order
//! only with serde_json's `preserve_order` feature, which a dev-dependency turns on in test
//! builds, and the document must be the same text in every build.
use serde_json::{Map, Value, json};

use crate::{domain::webhooks, events::EventKind};

/// How an operation that creates a resource hands its id to the operations that take it.
struct Link {
    /// The operation creating the resource.
    from: &'static str,
    /// Path parameters of the targets and where in the created resource they are.
    params: &'static [(&'static str, &'static str)],
    /// Operations taking those parameters.
    to: &'static [&'static str],
    /// A request body for the targets, with expressions (OpenAPI `requestBody`).
    body: Option<(&'static str, &'static str)>,
}

const ROOM: &[(&str, &str)] = &[
    ("domain", "$response.body#/content/room/domain"),
    ("name", "$response.body#/content/room/name"),
];

const LINKS: &[Link] = &[
    Link {
        from: "createDomain",
        params: &[("domain", "$response.body#/content/name")],
        to: &["getDomain", "updateDomain", "rotateDomainKey"],
        body: None,
    },
    Link {
        from: "createClient",
        params: &[("clientId", "$response.body#/content/client/clientId")],
        to: &["getClient", "revokeClient"],
        body: None,
    },
    Link {
        from: "createRoom",
        params: ROOM,
        to: &[
            "getRoom",
            "setRoomLock",
            "setRoomPassword",
            "kickPeers",
            "admitPeer",
            "listRoomMessages",
            "postRoomMessage",
            "joinRoom",
            "destroyRoom",
        ],
        body: None,
    },
    Link {
        from: "createBooking",
        params: &[("bookingId", "$response.body#/content/bookingId")],
        to: &["getBooking", "updateBooking", "cancelBooking"],
        body: None,
    },
    Link {
        from: "createSubscription",
        params: &[("subscriptionId", "$response.body#/content/subscriptionId")],
        to: &[
            "getSubscription",
            "listSubscriptionSessionEntries",
            "deleteSubscription",
        ],
        body: None,
    },
    Link {
        from: "createWidget",
        params: &[("widgetId", "$response.body#/content/widgetId")],
        to: &[
            "getWidget",
            "updateWidget",
            "rotateWidgetSecret",
            "checkWidgetUsersInfo",
            "deleteWidget",
        ],
        body: None,
    },
    Link {
        from: "createWebhook",
        params: &[("webhookId", "$response.body#/content/webhookId")],
        to: &[
            "getWebhook",
            "validateWebhook",
            "listDeliveries",
            "redeliverDeliveries",
            "removeWebhook",
        ],
        body: None,
    },
    Link {
        from: "createAdmin",
        params: &[("adminId", "$response.body#/adminId")],
        to: &["removeAdmin"],
        body: None,
    },
    // A peer just admitted is one a kick can name (a random peer id never is).
    Link {
        from: "admitPeer",
        params: &[
            ("domain", "$request.path.domain"),
            ("name", "$request.path.name"),
        ],
        to: &["kickPeers"],
        body: Some(("peerId", "$response.body#/content/peer/id")),
    },
    // …and one the lobby's decisions can name (they answer 409 unless it knocked).
    Link {
        from: "admitPeer",
        params: &[
            ("domain", "$request.path.domain"),
            ("name", "$request.path.name"),
            ("peerId", "$response.body#/content/peer/id"),
        ],
        to: &["admitWaitingPeer", "denyWaitingPeer"],
        body: None,
    },
];

/// The document, pretty-printed, without a trailing newline.
pub fn render(spec: &str) -> String {
    let mut doc: Value = serde_json::from_str(spec).expect("poem-openapi writes JSON");
    add_links(&mut doc);
    add_rules(&mut doc);
    describe_room_names(&mut doc);
    close_objects(&mut doc);
    restore_item_types(&mut doc);
    doc.sort_all_objects();
    serde_json::to_string_pretty(&doc).expect("a Value serialises")
}

/// Every operation by its operationId: (path, method).
fn operations(doc: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in ops.as_object().into_iter().flatten() {
            if let Some(id) = op["operationId"].as_str() {
                out.push((id.to_string(), path.clone(), method.clone()));
            }
        }
    }
    out
}

fn add_links(doc: &mut Value) {
    let ops = operations(doc);
    let find = |id: &str| {
        ops.iter()
            .find(|(op, _, _)| op == id)
            .map(|(_, path, method)| (path.clone(), method.clone()))
            .unwrap_or_else(|| panic!("link names an unknown operation {id}"))
    };
    for link in LINKS {
        let (path, method) = find(link.from);
        let mut links = Map::new();
        for target in link.to {
            let (target_path, _) = find(target);
            let mut parameters = Map::new();
            // Every organisation's resource lives under the org of the request that made it.
            if target_path.contains("{orgId}") {
                parameters.insert("orgId".into(), json!("$request.path.orgId"));
            }
            for (name, expression) in link.params {
                assert!(
                    target_path.contains(&format!("{{{name}}}")),
                    "{target} takes no {name}"
                );
                parameters.insert((*name).into(), json!(expression));
            }
            let mut target_link = json!({ "operationId": target, "parameters": parameters });
            if let Some((field, expression)) = link.body {
                target_link["requestBody"] = json!({ field: expression });
            }
            links.insert(upper_first(target), target_link);
        }
        let responses = &mut doc["paths"][&path][&method]["responses"];
        let status = ["201", "200"]
            .into_iter()
            .find(|s| responses.get(*s).is_some())
            .unwrap_or_else(|| panic!("{} answers neither 201 nor 200", link.from));
        // Several entries may start from one operation: their links add up.
        match responses[status]["links"].as_object_mut() {
            Some(existing) => existing.extend(links),
            None => responses[status]["links"] = Value::Object(links),
        }
    }
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn add_rules(doc: &mut Value) {
    let events: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    let webhook = &mut doc["components"]["schemas"]["NewWebhook"]["properties"];
    webhook["type"]["enum"] = json!([webhooks::URL, webhooks::ROBOT]);
    webhook["events"]["items"]["enum"] = json!(events);
    // Which of `url` and `robotId` a webhook takes depends on its type (domain::webhooks::add);
    // that is said in prose, not as a oneOf, which would cost generated clients their
    // `NewWebhook` model (openapi-python-client names the branches NewWebhookType0/1).
    // Adding a booking needs its duration (domain::bookings), a move does not: both share
    // MeetingOptionsInput. Said in prose: an allOf stating it left schemathesis' stateful phase
    // unable to generate bookings now and then, which failed CI at random.
}

/// The `{name}` of room paths follows the rule of room names (NewRoom.name, which has the
/// validators): a name breaking it is refused (422, or 404 where no room is made), so
/// generated names should keep it.
fn describe_room_names(doc: &mut Value) {
    let rule = doc["components"]["schemas"]["NewRoom"]["properties"]["name"].clone();
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let room_paths = paths
        .iter_mut()
        .filter(|(path, _)| path.contains("/{domain}/{name}"))
        .filter_map(|(_, ops)| ops.as_object_mut());
    for op in room_paths.flat_map(|ops| ops.values_mut()) {
        let params = op.get_mut("parameters").and_then(Value::as_array_mut);
        for param in params.into_iter().flatten() {
            if param["in"] == "path" && param["name"] == "name" {
                for key in ["pattern", "maxLength"] {
                    param["schema"][key] = rule[key].clone();
                }
            }
        }
    }
}

/// Request bodies whose types refuse unknown fields (`#[serde(deny_unknown_fields)]`).
const CLOSED: &[&str] = &["NewWidget", "WidgetPatch", "UsersInfoCheck"];

fn close_objects(doc: &mut Value) {
    for name in CLOSED {
        let schema = &mut doc["components"]["schemas"][*name];
        assert!(schema.is_object(), "no schema {name}");
        schema["additionalProperties"] = json!(false);
    }
}

fn restore_item_types(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    // `get_mut`, not indexing: indexing a Value inserts the keys it does not find.
    let props = schemas
        .values_mut()
        .filter_map(|schema| schema.get_mut("properties")?.as_object_mut())
        .flat_map(|props| props.values_mut());
    for items in props.filter_map(|prop| prop.get_mut("items")) {
        let string_rules = ["pattern", "maxLength", "minLength"]
            .iter()
            .any(|k| items.get(*k).is_some());
        if string_rules && items.get("type").is_none() {
            items["type"] = json!("string");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_name_operations_and_parameters_that_exist() {
        // `render` panics on a link to a missing operation or parameter.
        let text = super::render(&crate::api::service().spec());
        // A `null` would be a key the fix-ups inserted by indexing where there was none.
        assert!(!text.contains(": null"), "the document holds a null");
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let links = &doc["paths"]["/v1/orgs/{orgId}/rooms"]["post"]["responses"]["201"]["links"];
        assert_eq!(links["GetRoom"]["operationId"], "getRoom");
    }
}
