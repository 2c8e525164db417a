//! The dashboard at `/`: one page and its script, embedded in the binary (no CDN, no fetches
//! but the host's own API); the charts are drawn as SVG by hand.

const INDEX: &[u8] = include_bytes!("dashboard/index.html");
const SCRIPT: &[u8] = include_bytes!("dashboard/app.js");

/// The page or script at `path`, with its content type.
pub fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    match path {
        "/" | "/index.html" => Some(("text/html; charset=utf-8", INDEX)),
        "/dashboard.js" => Some(("text/javascript; charset=utf-8", SCRIPT)),
        _ => None,
    }
}
