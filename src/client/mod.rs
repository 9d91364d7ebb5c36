//! How the client commands talk to a gateway: the HTTP client built from
//! plain [`Options`] (`http`), a gateway's groups as the commands list,
//! filter and name them (`groups`), and PromQL-style label selectors
//! (`selector`, which the server's bulk clean-up reads the same way). The
//! command line never reaches this far: `cmd` turns flags into options.

pub(crate) mod groups;
mod http;
pub(crate) mod selector;

pub(crate) use http::{
    html_title, normalize_base, parse_gateway, transport_cause, Connection, Credentials, Gateway,
    GatewayUrl, Options, Reply, Secret,
};
