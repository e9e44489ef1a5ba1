//! Normalisation: the channel, campaign, touchpoint name, revenue and online/offline flag
//! derived from a raw message. The rules are written down in `docs/ingestion.md`; this
//! module is their only implementation, used by HTTP ingestion, import and the demo.
//!
//! Precedence for the channel, first match wins:
//! 1. an explicit `properties.channel` (synonyms mapped to the canonical names);
//! 2. the campaign medium (`utm_medium`), then the campaign source;
//! 3. ad click ids in the page URL (`gclid`, `msclkid` → paid search, `fbclid` → paid social);
//! 4. the event name (`Email Opened` → email, `Call Completed` → phone, …);
//! 5. for page views, the referrer (search engine, social network, other site; none → direct);
//! 6. the library: browser → web, mobile and `screen` → app; else `other`.

use crate::event::{Campaign, EventKind, Touch};
use crate::view::{Field, View};

/// The canonical channels. Explicit channels outside this list are kept as given.
pub const CHANNELS: &[&str] = &[
    "web",
    "app",
    "direct",
    "organic_search",
    "paid_search",
    "social",
    "paid_social",
    "display",
    "email",
    "referral",
    "partner",
    "phone",
    "store",
    "chat",
    "sms",
    "push",
    "event",
    "support",
    "survey",
    "direct_mail",
    "other",
];

/// Channels whose touches happen offline.
pub const OFFLINE_CHANNELS: &[&str] = &["phone", "store", "event", "direct_mail"];

const SEARCH_ENGINES: &[&str] = &[
    "google",
    "bing",
    "yahoo",
    "duckduckgo",
    "qwant",
    "ecosia",
    "baidu",
    "yandex",
    "startpage",
    "search.brave",
];
const SOCIAL_NETWORKS: &[&str] = &[
    "facebook",
    "fb",
    "instagram",
    "twitter",
    "x.com",
    "t.co",
    "linkedin",
    "lnkd.in",
    "tiktok",
    "pinterest",
    "youtube",
    "reddit",
    "snapchat",
    "threads",
    "mastodon",
    "bsky",
];

/// Derives the [`Touch`] of a message.
pub fn normalize(kind: EventKind, name: &str, properties: View, context: View) -> Touch {
    let page = context.object_at("page");
    let url = properties
        .str_at("url")
        .or_else(|| page.and_then(|p| p.str_at("url")));
    let referrer = properties
        .str_at("referrer")
        .or_else(|| page.and_then(|p| p.str_at("referrer")));
    let campaign = campaign(properties, context, url);
    let channel = channel(kind, name, properties, context, &campaign, url, referrer);
    let touchpoint = touchpoint(kind, name, properties, page, url, &channel, &campaign);
    let revenue = revenue(properties);
    let currency = match properties.str_at("currency") {
        Some(c) if !c.trim().is_empty() => Some(c.trim().to_uppercase()),
        _ => revenue.map(|_| "USD".to_string()),
    };
    let online = match properties.bool_at("online") {
        Some(b) => b,
        None => !OFFLINE_CHANNELS.contains(&channel.as_str()),
    };
    Touch {
        channel,
        campaign,
        touchpoint,
        revenue,
        currency,
        online,
    }
}

fn campaign(properties: View, context: View, url: Option<&str>) -> Campaign {
    let from = |o: View, keys: &[&str]| keys.iter().find_map(|k| o.str_at(k)).map(clean);
    let mut c = Campaign::default();
    if let Some(ctx) = context.object_at("campaign") {
        c.name = from(ctx, &["name", "utm_campaign"]);
        c.source = from(ctx, &["source", "utm_source"]);
        c.medium = from(ctx, &["medium", "utm_medium"]);
        c.term = from(ctx, &["term", "utm_term", "keyword"]);
        c.content = from(ctx, &["content", "utm_content"]);
    }
    if c.is_empty() {
        if let Some(query) = url.and_then(|u| split_url(u).2) {
            let q = |key: &str| query_param(query, key).map(|v| clean(&v));
            c.name = q("utm_campaign");
            c.source = q("utm_source");
            c.medium = q("utm_medium");
            c.term = q("utm_term");
            c.content = q("utm_content");
        }
    }
    if c.is_empty() {
        // Offline and CRM records name their campaign in properties.
        c.name = from(properties, &["campaign", "campaign_name", "utm_campaign"]);
        c.source = from(properties, &["utm_source", "source"]);
        c.medium = from(properties, &["utm_medium", "medium"]);
    }
    c
}

fn channel(
    kind: EventKind,
    name: &str,
    properties: View,
    context: View,
    campaign: &Campaign,
    url: Option<&str>,
    referrer: Option<&str>,
) -> String {
    if let Some(explicit) = properties
        .str_at("channel")
        .map(slug)
        .filter(|s| !s.is_empty())
    {
        return canonical_channel(&explicit)
            .map(str::to_string)
            .unwrap_or_else(|| explicit.into_owned());
    }
    if let Some(c) = campaign
        .medium
        .as_deref()
        .and_then(|m| channel_from_medium(m, campaign.source.as_deref()))
    {
        return c.to_string();
    }
    if let Some(c) = campaign.source.as_deref().and_then(channel_from_source) {
        return c.to_string();
    }
    if let Some(query) = url.and_then(|u| split_url(u).2) {
        if query_param(query, "gclid").is_some() || query_param(query, "msclkid").is_some() {
            return "paid_search".into();
        }
        if query_param(query, "fbclid").is_some() || query_param(query, "ttclid").is_some() {
            return "paid_social".into();
        }
    }
    if let Some(c) = channel_from_name(name) {
        return c.to_string();
    }
    let library = lower(
        context
            .object_at("library")
            .and_then(|l| l.str_at("name"))
            .unwrap_or(""),
    );
    let mobile = [
        "ios",
        "android",
        "react-native",
        "flutter",
        "kotlin",
        "swift",
    ]
    .iter()
    .any(|m| occurs(&library, m));
    if kind == EventKind::Screen || mobile {
        return "app".into();
    }
    if kind == EventKind::Page {
        return channel_from_referrer(referrer, url).to_string();
    }
    let browser = ["analytics.js", "analytics-next", "rudder-js"]
        .iter()
        .any(|b| occurs(&library, b));
    if browser || context.has("page") || context.has("userAgent") {
        return "web".into();
    }
    "other".into()
}

/// Maps spellings people use for a channel to the canonical name.
pub fn canonical_channel(s: &str) -> Option<&'static str> {
    let s = slug(s);
    if let Some(c) = CHANNELS.iter().find(|c| **c == s) {
        return Some(c);
    }
    Some(match &*s {
        "website" | "online" | "site" => "web",
        "mobile" | "mobile_app" | "application" => "app",
        "e_mail" | "mail" | "newsletter" | "emailing" => "email",
        "seo" | "organic" | "search" => "organic_search",
        "sea" | "cpc" | "ppc" | "paid" | "sem" | "ads" => "paid_search",
        "social_media" | "reseaux_sociaux" => "social",
        "banner" | "programmatic" => "display",
        "call" | "call_center" | "callcenter" | "telephone" | "voice" => "phone",
        "shop" | "retail" | "in_store" | "pos" | "boutique" | "magasin" => "store",
        "live_chat" | "livechat" | "messenger" | "whatsapp" => "chat",
        "text" | "text_message" => "sms",
        "notification" | "push_notification" => "push",
        "trade_show" | "webinar" | "salon" | "conference" => "event",
        "affiliate" | "reseller" => "partner",
        "helpdesk" | "ticket" | "service_client" | "customer_service" => "support",
        "postal" | "courrier" | "mailing" => "direct_mail",
        _ => return None,
    })
}

fn channel_from_medium(medium: &str, source: Option<&str>) -> Option<&'static str> {
    let m = slug(medium);
    let social_source = source.map(|s| is_social(&lower(s))).unwrap_or(false);
    Some(match &*m {
        "cpc" | "ppc" | "paidsearch" | "paid_search" | "sem" | "sea" => {
            if social_source {
                "paid_social"
            } else {
                "paid_search"
            }
        }
        "paid_social" | "paidsocial" | "social_paid" | "social_ads" => "paid_social",
        "display" | "banner" | "cpm" | "programmatic" | "video" => "display",
        "email" | "e_mail" | "newsletter" | "mail" | "emailing" => "email",
        "social" | "social_media" | "sm" | "social_network" | "organic_social" => "social",
        "organic" | "seo" => "organic_search",
        "referral" => "referral",
        "affiliate" | "affiliates" | "partner" | "partners" => "partner",
        "sms" => "sms",
        "push" => "push",
        "qr" | "print" | "flyer" | "offline" => "direct_mail",
        _ => return canonical_channel(&m),
    })
}

fn channel_from_source(source: &str) -> Option<&'static str> {
    let s = lower(source);
    if is_social(&s) {
        Some("social")
    } else if SEARCH_ENGINES.iter().any(|e| occurs(&s, e)) {
        Some("organic_search")
    } else if ["newsletter", "mailchimp", "sendinblue", "brevo"]
        .iter()
        .any(|w| occurs(&s, w))
    {
        Some("email")
    } else {
        None
    }
}

/// Words of event names (Segment specs, common offline logs) that reveal their channel, in
/// priority order: a name containing words of several channels gets the first one's.
const NAME_WORDS: &[(&str, &[&str])] = &[
    ("email", &["email", "e-mail", "newsletter"]),
    ("sms", &["sms"]),
    ("push", &["push notification", "push opened", "push sent"]),
    ("phone", &["call", "phone"]),
    ("chat", &["chat"]),
    ("support", &["ticket", "support"]),
    (
        "store",
        &[
            "in-store",
            "in store",
            "store purchase",
            "store visit",
            "pos ",
        ],
    ),
    (
        "display",
        &["ad impression", "ad clicked", "ad viewed", "banner"],
    ),
    (
        "event",
        &["webinar", "trade show", "event attended", "conference"],
    ),
    ("survey", &["survey", "nps", "csat"]),
];

/// The channel an event name reveals: the first entry of [`NAME_WORDS`] with a word the
/// name contains, ignoring ASCII case. One pass over the name finds every word in it.
fn channel_from_name(name: &str) -> Option<&'static str> {
    static WORDS: std::sync::LazyLock<(aho_corasick::AhoCorasick, Vec<usize>)> =
        std::sync::LazyLock::new(|| {
            let (mut words, mut entry) = (Vec::new(), Vec::new());
            for (i, (_, ws)) in NAME_WORDS.iter().enumerate() {
                words.extend(ws.iter().copied());
                entry.extend(ws.iter().map(|_| i));
            }
            let matcher = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(words)
                .expect("the channel words build a matcher");
            (matcher, entry)
        });
    let (matcher, entry) = &*WORDS;
    matcher
        .find_overlapping_iter(name)
        .map(|m| entry[m.pattern().as_usize()])
        .min()
        .map(|i| NAME_WORDS[i].0)
}

fn channel_from_referrer(referrer: Option<&str>, url: Option<&str>) -> &'static str {
    let Some(referrer) = referrer.filter(|r| !r.trim().is_empty()) else {
        return "direct";
    };
    let ref_host = lower(split_url(referrer).0);
    let own_host = url.map(|u| lower(split_url(u).0)).unwrap_or_default();
    if ref_host.is_empty() {
        return "direct";
    }
    if !own_host.is_empty() && registrable(&ref_host) == registrable(&own_host) {
        // Navigation inside the site: a web touch, not a new acquisition.
        return "web";
    }
    if SEARCH_ENGINES.iter().any(|e| occurs(&ref_host, e)) {
        "organic_search"
    } else if is_social(&ref_host) {
        "social"
    } else if occurs(&ref_host, "mail.") || occurs(&ref_host, "outlook") {
        "email"
    } else {
        "referral"
    }
}

/// A host or utm source naming a social network: the network's name alone, followed by a
/// dot (`facebook.com`, `m.facebook.com`), after a dot (`www.t.co`) or before an
/// underscore (`facebook_ads`).
fn is_social(host_or_source: &str) -> bool {
    let h = host_or_source;
    SOCIAL_NETWORKS.iter().any(|s| {
        h == *s
            || occurrences(h, s).any(|i| h[i + s.len()..].starts_with('.'))
            || h.strip_suffix(s).is_some_and(|rest| rest.ends_with('.'))
            || h.strip_prefix(s).is_some_and(|rest| rest.starts_with('_'))
    })
}

/// Where `needle` (not empty) starts in `haystack`, every place, overlapping ones too: a
/// plain scan, cheaper than `str`'s searchers (set up at each call) for the short hosts,
/// sources and library names read here.
fn occurrences<'h>(haystack: &'h str, needle: &'h str) -> impl Iterator<Item = usize> + 'h {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let last = (h.len() + 1).saturating_sub(n.len());
    (0..last).filter(move |&i| h[i] == n[0] && &h[i..i + n.len()] == n)
}

/// Whether `needle` (not empty) occurs in `haystack` (see [`occurrences`]).
fn occurs(haystack: &str, needle: &str) -> bool {
    occurrences(haystack, needle).next().is_some()
}

/// The last two labels of a host: `www.shop.example.com` → `example.com`.
fn registrable(host: &str) -> &str {
    let host = host.trim_start_matches("www.");
    // The second dot from the end, found by a plain backward scan.
    let mut dots = host.bytes().enumerate().rev().filter(|&(_, b)| b == b'.');
    match dots.nth(1) {
        Some((dot, _)) => &host[dot + 1..],
        None => host,
    }
}

/// `s` in ASCII lower case, copied only when it has upper-case letters.
fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(s.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// `prefix`, a space, then `label` (a touchpoint name), in one allocation.
fn labelled(prefix: &str, label: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + 1 + label.len());
    name.push_str(prefix);
    name.push(' ');
    name.push_str(label);
    name
}

fn touchpoint(
    kind: EventKind,
    name: &str,
    properties: View,
    page: Option<View>,
    url: Option<&str>,
    channel: &str,
    campaign: &Campaign,
) -> String {
    if let Some(t) = properties
        .str_at("touchpoint")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return t.to_string();
    }
    match kind {
        EventKind::Page => {
            let path = properties
                .str_at("path")
                .or_else(|| page.and_then(|p| p.str_at("path")))
                .or_else(|| url.map(|u| split_url(u).1))
                .filter(|p| !p.is_empty());
            return labelled("web", path.unwrap_or(name));
        }
        EventKind::Screen => return labelled("app", name),
        _ => {}
    }
    let detail = |keys: &[&str]| keys.iter().find_map(|k| properties.str_at(k));
    let label = match channel {
        "email" | "sms" | "push" => detail(&["email_name", "template", "message_name"])
            .or(campaign.name.as_deref())
            .or_else(|| detail(&["subject"])),
        "phone" => detail(&["direction", "reason"]),
        "store" => detail(&["store", "store_name", "location"]),
        "chat" | "support" => detail(&["topic", "category", "reason"]),
        "display" | "paid_search" | "paid_social" | "social" => campaign
            .name
            .as_deref()
            .or_else(|| detail(&["network", "platform"])),
        _ => None,
    };
    let prefix = match channel {
        "paid_search" | "paid_social" | "display" => "ad",
        c => c,
    };
    match label {
        Some(l) if !l.trim().is_empty() => labelled(prefix, l.trim()),
        _ => labelled(prefix, name),
    }
}

/// Revenue in the Segment e-commerce spec: `revenue`, else `total`, else `value`; numbers
/// or numeric strings. Non-finite values are ignored.
fn revenue(properties: View) -> Option<f64> {
    ["revenue", "total", "value"]
        .iter()
        .find_map(|k| match properties.get(k) {
            Some(Field::Number(n)) => Some(n),
            Some(Field::Str(s)) => s.trim().replace(',', ".").parse::<f64>().ok(),
            _ => None,
        })
        .filter(|v| v.is_finite())
}

fn clean(s: &str) -> String {
    s.trim().to_string()
}

/// Lowercase, with separators unified to `_`.
fn slug(s: &str) -> std::borrow::Cow<'_, str> {
    let unify = |c: char| if matches!(c, '-' | ' ' | '.') { '_' } else { c };
    let s = s.trim();
    // Most names are slugs already (`email`, `paid_social`): borrowed, not copied.
    if s.bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase() && !matches!(b, b'-' | b' ' | b'.'))
    {
        std::borrow::Cow::Borrowed(s)
    } else if s.is_ascii() {
        // ASCII lower-cases character by character: one pass, no intermediate string.
        std::borrow::Cow::Owned(s.chars().map(|c| unify(c.to_ascii_lowercase())).collect())
    } else {
        std::borrow::Cow::Owned(s.to_lowercase().chars().map(unify).collect())
    }
}

/// Splits a URL into (host, path, query). Tolerates missing scheme and relative paths.
pub fn split_url(url: &str) -> (&str, &str, Option<&str>) {
    let url = url.trim();
    let (before_fragment, _) = url.split_once('#').unwrap_or((url, ""));
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let rest = match base.find("://") {
        Some(i) => &base[i + 3..],
        None if base.starts_with("//") => &base[2..],
        None if base.starts_with('/') => return ("", base, query),
        None => base,
    };
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..], query),
        None => (rest, "/", query),
    }
}

/// The decoded value of `key` in a query string.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key)
            .then(|| percent_decode(v))
            .filter(|v| !v.is_empty())
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rules as written before they were made fast: lower-case, then one `contains` per
    /// word, entry by entry.
    fn channel_from_name_plainly(name: &str) -> Option<&'static str> {
        let n = name.to_ascii_lowercase();
        NAME_WORDS
            .iter()
            .find(|(_, words)| words.iter().any(|w| n.contains(w)))
            .map(|(channel, _)| *channel)
    }

    fn registrable_plainly(host: &str) -> String {
        let labels: Vec<&str> = host.trim_start_matches("www.").split('.').collect();
        labels[labels.len().saturating_sub(2)..].join(".")
    }

    fn slug_plainly(s: &str) -> String {
        s.trim()
            .to_lowercase()
            .chars()
            .map(|c| {
                if c == '-' || c == ' ' || c == '.' {
                    '_'
                } else {
                    c
                }
            })
            .collect()
    }

    fn is_social_plainly(h: &str) -> bool {
        SOCIAL_NETWORKS.iter().any(|s| {
            h == *s
                || h.contains(&format!("{s}."))
                || h.ends_with(&format!(".{s}"))
                || h.starts_with(&format!("{s}_"))
        })
    }

    /// Strings made of the words the rules look for, their pieces, separators and other
    /// text, in any case: where the two definitions could part.
    fn text() -> impl Strategy<Value = String> {
        let mut pieces: Vec<String> = NAME_WORDS
            .iter()
            .flat_map(|(_, ws)| ws.iter().map(|w| w.to_string()))
            .chain(SOCIAL_NETWORKS.iter().map(|s| s.to_string()))
            .collect();
        let halves: Vec<String> = pieces
            .iter()
            .flat_map(|p| [p[..p.len() / 2].to_string(), p[p.len() / 2..].to_string()])
            .collect();
        pieces.extend(halves);
        pieces.extend(
            [".", "_", " ", "-", "www.", "Order ", "É", "m.", "com"]
                .iter()
                .map(|s| s.to_string()),
        );
        prop::collection::vec((prop::sample::select(pieces), any::<bool>()), 0..6).prop_map(
            |parts| {
                parts
                    .into_iter()
                    .map(|(p, upper)| if upper { p.to_uppercase() } else { p })
                    .collect()
            },
        )
    }

    /// Objects with the fields normalisation reads, in the shapes clients send.
    fn message_object() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::json;
        let word = prop::sample::select(vec![
            "",
            "google",
            "cpc",
            "Email",
            "newsletter",
            "facebook_ads",
            "https://www.bing.com/x",
            "https://shop.example/p?utm_source=fb&gclid=1",
            "m.facebook.com",
            "12.5",
            "1,5",
            "\"été\\\n",
            "store",
            "Call",
            "/pricing",
            "analytics.js",
            "ios",
        ]);
        let keys = prop::sample::select(vec![
            "url",
            "referrer",
            "channel",
            "currency",
            "online",
            "touchpoint",
            "path",
            "revenue",
            "total",
            "value",
            "campaign",
            "utm_source",
            "source",
            "medium",
            "name",
            "term",
            "content",
            "email_name",
            "subject",
            "store",
            "topic",
            "network",
            "page",
            "library",
            "userAgent",
            "utm_medium",
            "keyword",
        ]);
        let leaf = prop_oneof![
            word.clone().prop_map(|w| json!(w)),
            (-1e6f64..1e6).prop_map(|n| json!(n)),
            any::<bool>().prop_map(|b| json!(b)),
            Just(serde_json::Value::Null),
        ];
        let inner =
            prop::collection::btree_map(keys.clone(), leaf.clone(), 0..5).prop_map(|m| json!(m));
        prop::collection::btree_map(keys, prop_oneof![leaf, inner], 0..8).prop_map(|m| json!(m))
    }

    proptest! {
        /// Normalising from a shallow parse of the texts gives what normalising from the
        /// parsed maps gives (the import reads the first, HTTP the second).
        #[test]
        fn a_view_of_the_text_normalises_as_the_map(
            properties in message_object(),
            context in message_object(),
            kind in prop::sample::select(vec![EventKind::Track, EventKind::Page, EventKind::Screen]),
            name in "(Email Opened|Order Completed|Call|Home|)",
        ) {
            let (p_text, c_text) = (properties.to_string(), context.to_string());
            let p_map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&p_text).unwrap();
            let c_map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&c_text).unwrap();
            let p_view = crate::view::Shallow::parse(&p_text).unwrap();
            let c_view = crate::view::Shallow::parse(&c_text).unwrap();
            prop_assert_eq!(
                normalize(kind, &name, p_view.view(&p_text), c_view.view(&c_text)),
                normalize(kind, &name, View::Map(&p_map), View::Map(&c_map))
            );
        }

        /// The plain scan finds a needle where `str::contains` does, and every place
        /// `match_indices` would (overlapping places too).
        #[test]
        fn occurrences_are_where_str_finds_them(h in "[a.bé_]{0,12}", n in "[a.bé_]{1,3}") {
            prop_assert_eq!(occurs(&h, &n), h.contains(&n));
            let all: Vec<usize> = occurrences(&h, &n).collect();
            let expected: Vec<usize> = (0..=h.len())
                .filter(|&i| h.get(i..).is_some_and(|rest| rest.starts_with(&n)))
                .collect();
            prop_assert_eq!(all, expected);
        }

        #[test]
        fn the_name_matcher_agrees_with_the_plain_rules(name in text()) {
            prop_assert_eq!(channel_from_name(&name), channel_from_name_plainly(&name));
        }

        #[test]
        fn hosts_and_slugs_agree_with_the_plain_rules(
            host in "(www\\.)*[a-zA-Z.\\- É]{0,12}",
        ) {
            prop_assert_eq!(registrable(&host), registrable_plainly(&host));
            prop_assert_eq!(slug(&host).into_owned(), slug_plainly(&host));
            prop_assert_eq!(lower(&host), host.to_ascii_lowercase());
        }

        #[test]
        fn the_social_test_agrees_with_the_plain_rules(host in text()) {
            let host = host.to_ascii_lowercase();
            prop_assert_eq!(is_social(&host), is_social_plainly(&host));
        }
    }

    #[test]
    fn names_and_hosts_of_each_kind() {
        assert_eq!(channel_from_name("Email Opened"), Some("email"));
        assert_eq!(channel_from_name("Support call scheduled"), Some("phone"));
        assert_eq!(channel_from_name("NPS Survey Sent by email"), Some("email"));
        assert_eq!(channel_from_name("Product Viewed"), None);
        assert!(is_social("m.facebook.com"));
        assert!(is_social("www.t.co"));
        assert!(is_social("facebook_ads"));
        assert!(!is_social("notfacebook"));
        assert!(!is_social("google.com"));
    }
}
