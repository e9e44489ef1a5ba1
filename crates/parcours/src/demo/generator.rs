//! The demo company, **Maison Lumière**: a French lighting brand selling online, in its
//! shops and by phone to households (e-commerce journeys), and to offices and hotels
//! through its B2B arm, Lumière Pro (account and deal journeys).
//!
//! Each customer is simulated independently from `(seed, index)`, so the dataset is the
//! same on every machine and any range of customers can be generated on its own. A
//! customer walks the stages (awareness → consideration → decision → purchase →
//! post-purchase → advocacy) with persona-specific odds, and may skip, repeat, loop back
//! or stop at any stage. Every message is a Segment message, as a client would send it.
//!
//! Planted frictions (documented in `docs/demo.md`, to be found by friction detection):
//! 1. mobile checkout: payment fails often on mobile, so mobile carts convert far less;
//! 2. late deliveries by the carrier "ColisExpress": tickets, repeat contacts, negative
//!    delivery comments and low NPS;
//! 3. returns: high effort (low CES), slow refunds, repeat calls.

use parcours_core::time::{
    format_rfc3339, parse_rfc3339, Micros, MICROS_PER_DAY, MICROS_PER_SECOND,
};
use parcours_store::AdCost;
use serde_json::{json, Map, Value};

use super::rng::Rng;
use super::text::{comment, Lang, Tone, Topic};

pub const START: &str = "2026-05-01T00:00:00Z";
/// The site's own address, the referrer of navigation inside it.
const SITE: &str = "https://www.maison-lumiere.example/";
pub const END: &str = "2026-11-01T00:00:00Z";

pub struct Campaign {
    pub name: &'static str,
    pub channel: &'static str,
    pub source: &'static str,
    pub medium: &'static str,
    /// Active days, counted from START.
    pub days: (i64, i64),
    pub daily_cost: (f64, f64),
}

pub const CAMPAIGNS: &[Campaign] = &[
    Campaign {
        name: "brand-search",
        channel: "paid_search",
        source: "google",
        medium: "cpc",
        days: (0, 183),
        daily_cost: (90.0, 140.0),
    },
    Campaign {
        name: "lampes-design-generic",
        channel: "paid_search",
        source: "google",
        medium: "cpc",
        days: (0, 183),
        daily_cost: (180.0, 260.0),
    },
    Campaign {
        name: "spring-collection",
        channel: "paid_social",
        source: "instagram",
        medium: "cpc",
        days: (0, 61),
        daily_cost: (150.0, 240.0),
    },
    Campaign {
        name: "autumn-cosy",
        channel: "paid_social",
        source: "facebook",
        medium: "cpc",
        days: (122, 183),
        daily_cost: (140.0, 220.0),
    },
    Campaign {
        name: "retargeting",
        channel: "display",
        source: "criteo",
        medium: "display",
        days: (0, 183),
        daily_cost: (60.0, 110.0),
    },
    Campaign {
        name: "pro-linkedin",
        channel: "paid_social",
        source: "linkedin",
        medium: "cpc",
        days: (0, 183),
        daily_cost: (80.0, 150.0),
    },
    Campaign {
        name: "newsletter-weekly",
        channel: "email",
        source: "newsletter",
        medium: "email",
        days: (0, 183),
        daily_cost: (4.0, 6.0),
    },
    Campaign {
        name: "welcome-series",
        channel: "email",
        source: "crm",
        medium: "email",
        days: (0, 183),
        daily_cost: (0.0, 0.0),
    },
    Campaign {
        name: "abandoned-cart",
        channel: "email",
        source: "crm",
        medium: "email",
        days: (0, 183),
        daily_cost: (0.0, 0.0),
    },
    Campaign {
        name: "influence-deco",
        channel: "partner",
        source: "instagram-creators",
        medium: "affiliate",
        days: (30, 120),
        daily_cost: (70.0, 120.0),
    },
];

const PAID_SEARCH: [usize; 2] = [0, 1];
const RETARGETING: usize = 4;
const LINKEDIN: usize = 5;
const NEWSLETTER: usize = 6;
const WELCOME: usize = 7;
const ABANDONED: usize = 8;
const INFLUENCE: usize = 9;

#[derive(Clone, Copy)]
enum Acquisition {
    PaidSearch,
    PaidSocial,
    Organic,
    Display,
    Referral,
    Partner,
    StoreWalkIn,
    Direct,
}

pub struct Persona {
    pub key: &'static str,
    pub label: &'static str,
    weight: f64,
    acquisition: &'static [(Acquisition, f64)],
    consider: f64,
    decide: f64,
    buy: f64,
    /// Share of purchases made in a shop or by phone.
    offline: f64,
    basket: (f64, f64),
    mobile: f64,
    age: (i64, i64),
    income: &'static str,
    values: &'static [&'static str],
    interests: &'static [&'static str],
    lifestyle: &'static str,
}

pub const PERSONAS: &[Persona] = &[
    Persona {
        key: "design-lover",
        label: "Camille, design lover",
        weight: 0.30,
        acquisition: &[
            (Acquisition::PaidSocial, 0.4),
            (Acquisition::Partner, 0.15),
            (Acquisition::Organic, 0.2),
            (Acquisition::Direct, 0.1),
            (Acquisition::Referral, 0.15),
        ],
        consider: 0.75,
        decide: 0.6,
        buy: 0.65,
        offline: 0.1,
        basket: (120.0, 480.0),
        mobile: 0.7,
        age: (25, 39),
        income: "high",
        values: &["aesthetics", "sustainability", "craftsmanship"],
        interests: &["interior design", "instagram", "art"],
        lifestyle: "urban professional",
    },
    Persona {
        key: "bargain-hunter",
        label: "Marc, bargain hunter",
        weight: 0.30,
        acquisition: &[
            (Acquisition::PaidSearch, 0.45),
            (Acquisition::Display, 0.2),
            (Acquisition::Organic, 0.25),
            (Acquisition::Direct, 0.1),
        ],
        consider: 0.8,
        decide: 0.55,
        buy: 0.45,
        offline: 0.1,
        basket: (35.0, 160.0),
        mobile: 0.55,
        age: (35, 54),
        income: "middle",
        values: &["value for money", "practicality"],
        interests: &["deals", "diy", "comparison sites"],
        lifestyle: "suburban family",
    },
    Persona {
        key: "new-homeowners",
        label: "Léa & Tom, new homeowners",
        weight: 0.25,
        acquisition: &[
            (Acquisition::Organic, 0.4),
            (Acquisition::PaidSearch, 0.2),
            (Acquisition::StoreWalkIn, 0.2),
            (Acquisition::Referral, 0.2),
        ],
        consider: 0.8,
        decide: 0.65,
        buy: 0.6,
        offline: 0.35,
        basket: (150.0, 900.0),
        mobile: 0.45,
        age: (28, 40),
        income: "middle",
        values: &["comfort", "family", "durability"],
        interests: &["home renovation", "gardening", "pinterest"],
        lifestyle: "moving house",
    },
    Persona {
        key: "loyal-senior",
        label: "Mireille, loyal senior",
        weight: 0.15,
        acquisition: &[
            (Acquisition::StoreWalkIn, 0.45),
            (Acquisition::Direct, 0.3),
            (Acquisition::Organic, 0.25),
        ],
        consider: 0.7,
        decide: 0.7,
        buy: 0.75,
        offline: 0.7,
        basket: (80.0, 350.0),
        mobile: 0.15,
        age: (60, 78),
        income: "middle",
        values: &["trust", "service", "quality"],
        interests: &["reading", "gardening", "local shops"],
        lifestyle: "retired",
    },
];

struct Place {
    country: &'static str,
    city: &'static str,
    lang: Lang,
}

const PLACES: &[Place] = &[
    Place {
        country: "FR",
        city: "Paris",
        lang: Lang::Fr,
    },
    Place {
        country: "FR",
        city: "Lyon",
        lang: Lang::Fr,
    },
    Place {
        country: "FR",
        city: "Marseille",
        lang: Lang::Fr,
    },
    Place {
        country: "FR",
        city: "Lille",
        lang: Lang::Fr,
    },
    Place {
        country: "FR",
        city: "Bordeaux",
        lang: Lang::Fr,
    },
    Place {
        country: "FR",
        city: "Nantes",
        lang: Lang::Fr,
    },
    Place {
        country: "BE",
        city: "Bruxelles",
        lang: Lang::Fr,
    },
    Place {
        country: "CH",
        city: "Genève",
        lang: Lang::Fr,
    },
    Place {
        country: "CA",
        city: "Montréal",
        lang: Lang::Fr,
    },
    Place {
        country: "GB",
        city: "London",
        lang: Lang::En,
    },
    Place {
        country: "GB",
        city: "Manchester",
        lang: Lang::En,
    },
    Place {
        country: "IE",
        city: "Dublin",
        lang: Lang::En,
    },
    Place {
        country: "US",
        city: "New York",
        lang: Lang::En,
    },
];
const PLACE_WEIGHTS: &[f64] = &[
    18.0, 9.0, 7.0, 5.0, 6.0, 5.0, 6.0, 4.0, 4.0, 12.0, 6.0, 5.0, 8.0,
];

const PRODUCTS: &[(&str, &str, f64)] = &[
    ("lampe-arc-laiton", "lamps", 289.0),
    ("suspension-rotin", "pendants", 159.0),
    ("applique-opaline", "wall-lights", 119.0),
    ("lampadaire-noyer", "floor-lamps", 349.0),
    ("lampe-chevet-lin", "lamps", 69.0),
    ("guirlande-guinguette", "outdoor", 49.0),
    ("ampoule-filament-x4", "bulbs", 29.0),
    ("spot-led-rail", "spots", 89.0),
];

const STORES: &[&str] = &[
    "Paris Marais",
    "Lyon Confluence",
    "Bordeaux Chartrons",
    "Lille Vieux-Lille",
    "London Shoreditch",
];
const CARRIERS: &[&str] = &["ColisExpress", "Chronopost", "DPD"];
const LATE_CARRIER: &str = "ColisExpress";

/// The demo dataset's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Demo {
    pub seed: u64,
    pub customers: u64,
}

/// One device of a customer: its anonymous id and how it reports.
struct Device {
    anonymous_id: String,
    mobile: bool,
    library: &'static str,
}

/// The simulation of one customer: a clock, identities, and the messages emitted.
struct Sim {
    rng: Rng,
    cid: u64,
    seq: u32,
    t: Micros,
    end: Micros,
    user_id: Option<String>,
    email: String,
    devices: Vec<Device>,
    device: usize,
    lang: Lang,
    account: Option<String>,
    out: Vec<Value>,
}

impl Sim {
    fn advance(&mut self, min_secs: i64, max_secs: i64) {
        self.t += self.rng.range(min_secs, max_secs) * MICROS_PER_SECOND;
    }

    fn days(&mut self, min: i64, max: i64) {
        self.advance(min * 86_400, max * 86_400);
    }

    fn live(&self) -> bool {
        self.t < self.end
    }

    fn base(&mut self, kind: &str) -> Map<String, Value> {
        self.seq += 1;
        let mut m = Map::new();
        m.insert("type".into(), json!(kind));
        m.insert(
            "messageId".into(),
            json!(format!("demo-{:07}-{:03}", self.cid, self.seq)),
        );
        m.insert("timestamp".into(), json!(format_rfc3339(self.t)));
        let d = &self.devices[self.device];
        m.insert("anonymousId".into(), json!(d.anonymous_id));
        if let Some(u) = &self.user_id {
            m.insert("userId".into(), json!(u));
        }
        let mut context = json!({
            "library": { "name": d.library },
            "device": { "type": if d.mobile { "mobile" } else { "desktop" } },
            "locale": if self.lang == Lang::Fr { "fr-FR" } else { "en-GB" },
        });
        if let Some(a) = &self.account {
            context["groupId"] = json!(a);
        }
        m.insert("context".into(), context);
        m
    }

    fn push(&mut self, m: Map<String, Value>) {
        if self.live() {
            self.out.push(Value::Object(m));
        }
    }

    /// A page view, or a screen view on the mobile app (which has no URL or referrer).
    /// `referrer`: `None` for navigation inside the site, `Some("")` for a direct visit.
    fn page(&mut self, path: &str, campaign: Option<usize>, referrer: Option<&str>) {
        if self.devices[self.device].library == "analytics-ios" {
            let mut m = self.base("screen");
            m.insert("name".into(), json!(path));
            self.push(m);
            return;
        }
        let mut m = self.base("page");
        let url = format!("https://www.maison-lumiere.example{path}");
        m.insert(
            "name".into(),
            json!(path
                .trim_start_matches('/')
                .split('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("home")),
        );
        m.insert("properties".into(), json!({ "path": path, "url": url }));
        let ctx = m
            .get_mut("context")
            .and_then(Value::as_object_mut)
            .expect("context");
        // No referrer given means a click inside the site; a new visit typed in or
        // bookmarked passes `Some("")`.
        let referrer = referrer.unwrap_or(SITE);
        ctx.insert(
            "page".into(),
            json!({ "path": path, "url": url, "referrer": referrer }),
        );
        if let Some(c) = campaign {
            let c = &CAMPAIGNS[c];
            ctx.insert(
                "campaign".into(),
                json!({ "name": c.name, "source": c.source, "medium": c.medium }),
            );
        }
        self.push(m);
    }

    fn track(&mut self, event: &str, properties: Value) {
        let mut m = self.base("track");
        m.insert("event".into(), json!(event));
        m.insert("properties".into(), properties);
        self.push(m);
    }

    fn track_campaign(&mut self, event: &str, campaign: usize, mut properties: Value) {
        let c = &CAMPAIGNS[campaign];
        properties["campaign"] = json!(c.name);
        properties["channel"] = json!(c.channel);
        let mut m = self.base("track");
        m.insert("event".into(), json!(event));
        m.insert("properties".into(), properties);
        if let Some(ctx) = m.get_mut("context").and_then(Value::as_object_mut) {
            ctx.insert(
                "campaign".into(),
                json!({ "name": c.name, "source": c.source, "medium": c.medium }),
            );
        }
        self.push(m);
    }

    fn identify(&mut self, traits: Value) {
        if self.user_id.is_none() {
            self.user_id = Some(format!("cust-{:07}", self.cid));
        }
        let mut m = self.base("identify");
        m.insert("traits".into(), traits);
        self.push(m);
    }

    fn group(&mut self, group_id: &str, traits: Value) {
        let mut m = self.base("group");
        m.insert("groupId".into(), json!(group_id));
        m.insert("traits".into(), traits);
        self.push(m);
    }

    fn survey(&mut self, survey: &str, score: i64, topic: Topic, touchpoint: &str, stage: &str) {
        let tone = match survey {
            "nps" if score >= 9 => Tone::Positive,
            "nps" if score >= 7 => Tone::Neutral,
            "csat" if score >= 4 => Tone::Positive,
            "csat" if score == 3 => Tone::Neutral,
            "ces" if score >= 5 => Tone::Positive,
            "ces" if score == 4 => Tone::Neutral,
            _ => Tone::Negative,
        };
        let mut properties = json!({ "survey": survey, "score": score, "touchpoint_surveyed": touchpoint, "stage": stage, "channel": "survey" });
        if self.rng.chance(0.6) {
            let pick = self.rng.next_u64() as usize;
            properties["comment"] = json!(comment(self.lang, topic, tone, pick));
            properties["language"] = json!(self.lang.code());
        }
        self.track("Survey Responded", properties);
    }
}

impl Demo {
    pub fn start() -> Micros {
        parse_rfc3339(START).expect("valid constant")
    }

    pub fn end() -> Micros {
        parse_rfc3339(END).expect("valid constant")
    }

    /// Every message of customer `index`, in time order.
    pub fn customer(&self, index: u64) -> Vec<Value> {
        let mut rng = Rng::for_entity(self.seed, 1, index);
        // One customer in five is a stakeholder of a B2B account (four per account).
        let b2b = index.is_multiple_of(5);
        let persona = if b2b {
            0
        } else {
            rng.weighted(&PERSONAS.iter().map(|p| p.weight).collect::<Vec<_>>())
        };
        let place = &PLACES[rng.weighted(PLACE_WEIGHTS)];
        let start = Demo::start();
        let span = Demo::end() - start;
        let first = start + (rng.f64() * 0.92 * span as f64) as i64;
        let devices = (0..rng.range(1, 3))
            .map(|k| {
                let mobile = if k == 0 {
                    rng.chance(if b2b { 0.25 } else { PERSONAS[persona].mobile })
                } else {
                    !rng.chance(0.5)
                };
                Device {
                    anonymous_id: format!("anon-{index:07}-{k}"),
                    mobile,
                    library: if mobile && rng.chance(0.4) {
                        "analytics-ios"
                    } else {
                        "analytics.js"
                    },
                }
            })
            .collect();
        let mut sim = Sim {
            rng,
            cid: index,
            seq: 0,
            t: first,
            end: Demo::end(),
            user_id: None,
            email: format!(
                "client{index}@{}",
                if place.lang == Lang::Fr {
                    "exemple.fr"
                } else {
                    "example.com"
                }
            ),
            devices,
            device: 0,
            lang: place.lang,
            account: None,
            out: Vec::new(),
        };
        if b2b {
            self.b2b_journey(&mut sim, index, place);
        } else {
            self.b2c_journey(&mut sim, &PERSONAS[persona], place);
        }
        sim.out
    }

    fn traits(sim: &mut Sim, persona: &Persona, place: &Place) -> Value {
        json!({
            "email": sim.email,
            "persona": persona.key,
            "age": sim.rng.range(persona.age.0, persona.age.1),
            "gender": *sim.rng.pick(&["female", "male", "female", "male", "non-binary"]),
            "country": place.country,
            "city": place.city,
            "language": sim.lang.code(),
            "income": persona.income,
            "education": *sim.rng.pick(&["secondary", "bachelor", "master", "bachelor"]),
            "values": persona.values,
            "interests": persona.interests,
            "lifestyle": persona.lifestyle,
        })
    }

    fn acquire(sim: &mut Sim, acquisition: Acquisition) -> bool {
        match acquisition {
            Acquisition::PaidSearch => {
                let c = *sim.rng.pick(&PAID_SEARCH);
                sim.track_campaign("Ad Clicked", c, json!({ "network": "google" }));
                sim.advance(1, 5);
                sim.page("/", Some(c), Some("https://www.google.fr/"));
            }
            Acquisition::PaidSocial => {
                let day = (sim.t - Demo::start()) / MICROS_PER_DAY;
                let c = if day < 61 {
                    2
                } else if day >= 122 {
                    3
                } else {
                    *sim.rng.pick(&[2usize, 3])
                };
                for _ in 0..sim.rng.range(1, 3) {
                    sim.track_campaign(
                        "Ad Impression",
                        c,
                        json!({ "network": CAMPAIGNS[c].source }),
                    );
                    sim.days(0, 2);
                }
                if !sim.rng.chance(0.55) {
                    return false;
                }
                sim.track_campaign("Ad Clicked", c, json!({ "network": CAMPAIGNS[c].source }));
                sim.advance(1, 5);
                sim.page(
                    "/collections/nouveautes",
                    Some(c),
                    Some("https://www.instagram.com/"),
                );
            }
            Acquisition::Display => {
                sim.track_campaign("Ad Impression", RETARGETING, json!({ "network": "criteo" }));
                sim.days(0, 3);
                if !sim.rng.chance(0.5) {
                    return false;
                }
                sim.track_campaign("Ad Clicked", RETARGETING, json!({ "network": "criteo" }));
                sim.page("/promotions", Some(RETARGETING), None);
            }
            Acquisition::Organic => {
                let path = *sim.rng.pick(&[
                    "/blog/bien-choisir-sa-lampe",
                    "/blog/eclairage-salon",
                    "/blog/ampoules-led-guide",
                ]);
                let engine = *sim.rng.pick(&[
                    "https://www.google.fr/",
                    "https://www.bing.com/",
                    "https://www.qwant.com/",
                ]);
                sim.page(path, None, Some(engine));
            }
            Acquisition::Referral => {
                sim.page(
                    "/parrainage",
                    None,
                    Some("https://parrainage.partage.example/ana"),
                );
                let props = json!({ "channel": "referral", "referrer_code": format!("REF{}", sim.rng.range(1000, 9999)) });
                sim.track("Referral Link Opened", props);
            }
            Acquisition::Partner => {
                sim.page(
                    "/collections/influence",
                    Some(INFLUENCE),
                    Some("https://www.instagram.com/"),
                );
            }
            Acquisition::StoreWalkIn => {
                let store = *sim.rng.pick(STORES);
                sim.track(
                    "Store Visited",
                    json!({ "channel": "store", "store": store }),
                );
            }
            Acquisition::Direct => sim.page("/", None, Some("")),
        }
        true
    }

    fn b2c_journey(&self, sim: &mut Sim, persona: &Persona, place: &Place) {
        let acquisition = persona.acquisition[sim
            .rng
            .weighted(&persona.acquisition.iter().map(|a| a.1).collect::<Vec<_>>())]
        .0;
        let store_first = matches!(acquisition, Acquisition::StoreWalkIn);
        if !Demo::acquire(sim, acquisition) || !sim.rng.chance(persona.consider) {
            return; // Dropped at awareness.
        }
        // Consideration: several sessions, on several devices, looping between products,
        // comparison and reviews.
        let sessions = 1 + sim.rng.chance(0.45) as i64 + sim.rng.chance(0.2) as i64;
        let mut identified = false;
        for s in 0..sessions {
            sim.days(if s == 0 { 0 } else { 1 }, 6);
            sim.device = (sim.rng.next_u64() % sim.devices.len() as u64) as usize;
            let entry = if s > 0 && sim.rng.chance(0.3) {
                Some(RETARGETING)
            } else {
                None
            };
            // A new visit: through retargeting, or typed in.
            sim.page(
                "/collections/luminaires",
                entry,
                entry.map_or(Some(""), |_| None),
            );
            for _ in 0..sim.rng.range(1, 3) {
                sim.advance(20, 240);
                let (slug, category, price) = *sim.rng.pick(PRODUCTS);
                sim.page(
                    &format!("/produits/{slug}"),
                    None,
                    Some("https://www.maison-lumiere.example/collections/luminaires"),
                );
                sim.track(
                    "Product Viewed",
                    json!({ "product_id": slug, "category": category, "price": price }),
                );
                if sim.rng.chance(0.15) {
                    sim.advance(30, 120);
                    sim.page(
                        "/comparer",
                        None,
                        Some("https://www.maison-lumiere.example/"),
                    );
                    sim.advance(30, 120);
                    sim.page(
                        &format!("/produits/{slug}"),
                        None,
                        Some("https://www.maison-lumiere.example/comparer"),
                    );
                }
                if sim.rng.chance(0.12) {
                    sim.advance(20, 90);
                    sim.page(
                        &format!("/produits/{slug}/avis"),
                        None,
                        Some("https://www.maison-lumiere.example/"),
                    );
                }
            }
            if !identified && sim.rng.chance(0.35) {
                sim.advance(10, 60);
                sim.track("Newsletter Subscribed", json!({ "form": "footer" }));
                let traits = Demo::traits(sim, persona, place);
                sim.identify(traits);
                identified = true;
                sim.days(0, 1);
                sim.track_campaign("Email Sent", WELCOME, json!({ "email_name": "welcome-1" }));
                if sim.rng.chance(0.6) {
                    sim.advance(600, 20_000);
                    sim.track_campaign(
                        "Email Opened",
                        WELCOME,
                        json!({ "email_name": "welcome-1" }),
                    );
                }
            }
            if sim.rng.chance(0.15) {
                sim.advance(30, 300);
                sim.page("/catalogue", None, None);
                sim.track("Catalogue Downloaded", json!({ "format": "pdf" }));
            }
            if sim.rng.chance(0.08) {
                sim.advance(30, 300);
                let props = json!({ "topic": *sim.rng.pick(&["sizing", "delivery", "stock"]), "channel": "chat" });
                sim.track("Chat Started", props);
                sim.advance(120, 900);
                let props = json!({ "channel": "chat", "resolved": sim.rng.chance(0.8) });
                sim.track("Chat Ended", props);
            }
            if identified && sim.rng.chance(0.5) {
                sim.days(1, 7);
                sim.track_campaign(
                    "Email Sent",
                    NEWSLETTER,
                    json!({ "email_name": "newsletter-weekly" }),
                );
                if sim.rng.chance(0.4) {
                    sim.advance(600, 40_000);
                    sim.track_campaign(
                        "Email Opened",
                        NEWSLETTER,
                        json!({ "email_name": "newsletter-weekly" }),
                    );
                    if sim.rng.chance(0.35) {
                        sim.advance(5, 120);
                        sim.track_campaign(
                            "Email Clicked",
                            NEWSLETTER,
                            json!({ "email_name": "newsletter-weekly" }),
                        );
                        sim.page("/collections/nouveautes", Some(NEWSLETTER), None);
                    }
                }
            }
        }
        if !sim.rng.chance(persona.decide) {
            return; // Dropped at consideration.
        }
        let offline = store_first || sim.rng.chance(persona.offline);
        if offline {
            self.offline_purchase(sim, persona, place, identified);
            return;
        }
        // Decision: cart and checkout, with the planted mobile payment friction.
        let mut attempts = 0;
        let bought = loop {
            attempts += 1;
            sim.days(0, 3);
            let mobile = sim.devices[sim.device].mobile;
            let (slug, _, price) = *sim.rng.pick(PRODUCTS);
            let quantity = sim.rng.range(1, 3);
            sim.page(&format!("/produits/{slug}"), None, Some(""));
            sim.track(
                "Product Added",
                json!({ "product_id": slug, "price": price, "quantity": quantity }),
            );
            sim.advance(30, 400);
            sim.page("/panier", None, None);
            if !sim.rng.chance(0.75) {
                // Cart abandoned before checkout.
            } else {
                sim.advance(20, 200);
                sim.track(
                    "Checkout Started",
                    json!({ "value": price * quantity as f64 }),
                );
                sim.page("/commande/paiement", None, None);
                sim.advance(30, 300);
                let fail = if mobile { 0.45 } else { 0.06 };
                if sim.rng.chance(fail) {
                    sim.track("Payment Failed", json!({ "reason": if mobile { "3ds_timeout" } else { "card_declined" }, "device": if mobile { "mobile" } else { "desktop" } }));
                    if mobile && sim.rng.chance(0.3) {
                        let score = sim.rng.range(1, 3);
                        sim.survey(
                            "ces",
                            score,
                            Topic::Checkout,
                            "web /commande/paiement",
                            "purchase",
                        );
                    }
                } else if sim.rng.chance(persona.buy + 0.2) {
                    if !identified {
                        let traits = Demo::traits(sim, persona, place);
                        sim.identify(traits);
                    }
                    let basket = (price * quantity as f64)
                        .max(sim.rng.uniform(persona.basket.0, persona.basket.1));
                    sim.advance(5, 60);
                    let order = format!("ord-{}-{attempts}", sim.cid);
                    sim.track("Order Completed", json!({
                        "order_id": order, "revenue": (basket * 100.0).round() / 100.0, "currency": "EUR",
                        "products": [{ "product_id": slug, "quantity": quantity, "price": price }],
                        "payment": if mobile { "mobile" } else { "desktop" },
                    }));
                    break true;
                }
            }
            // Abandoned: a reminder email, then maybe another attempt (a loop back).
            if identified {
                sim.days(0, 1);
                sim.track_campaign(
                    "Email Sent",
                    ABANDONED,
                    json!({ "email_name": "abandoned-cart" }),
                );
                if sim.rng.chance(0.45) {
                    sim.advance(600, 30_000);
                    sim.track_campaign(
                        "Email Opened",
                        ABANDONED,
                        json!({ "email_name": "abandoned-cart" }),
                    );
                }
            }
            if attempts >= 3 || !sim.rng.chance(0.4) {
                break false;
            }
            // Some switch to the desktop for the next attempt.
            if sim.devices.len() > 1 && sim.rng.chance(0.5) {
                sim.device = sim.devices.iter().position(|d| !d.mobile).unwrap_or(0);
            }
        };
        if bought {
            self.post_purchase(sim, place, true);
        }
    }

    fn offline_purchase(&self, sim: &mut Sim, persona: &Persona, place: &Place, identified: bool) {
        sim.days(0, 10);
        if !identified {
            let traits = Demo::traits(sim, persona, place);
            sim.identify(traits);
        }
        let basket = (sim.rng.uniform(persona.basket.0, persona.basket.1) * 100.0).round() / 100.0;
        if sim.rng.chance(0.75) {
            let store = *sim.rng.pick(STORES);
            sim.track(
                "Store Visited",
                json!({ "channel": "store", "store": store }),
            );
            sim.advance(600, 3600);
            if !sim.rng.chance(persona.buy) {
                return;
            }
            sim.track("Order Completed", json!({ "channel": "store", "store": store, "order_id": format!("pos-{}", sim.cid), "revenue": basket, "currency": "EUR" }));
            if sim.rng.chance(0.3) {
                let score = sim.rng.range(4, 5);
                sim.survey(
                    "csat",
                    score,
                    Topic::Store,
                    &format!("store {store}"),
                    "purchase",
                );
            }
            self.post_purchase(sim, place, false);
        } else {
            let props = json!({ "channel": "phone", "direction": "inbound", "reason": "order", "duration_s": sim.rng.range(120, 900) });
            sim.track("Call Completed", props);
            if !sim.rng.chance(persona.buy) {
                return;
            }
            sim.track("Order Completed", json!({ "channel": "phone", "order_id": format!("tel-{}", sim.cid), "revenue": basket, "currency": "EUR" }));
            self.post_purchase(sim, place, true);
        }
    }

    fn post_purchase(&self, sim: &mut Sim, place: &Place, shipped: bool) {
        let mut trouble = false;
        if shipped {
            let carrier = *sim.rng.pick(CARRIERS);
            sim.days(0, 1);
            sim.track("Order Shipped", json!({ "carrier": carrier }));
            let late = carrier == LATE_CARRIER && sim.rng.chance(0.5);
            if late {
                sim.days(9, 16);
                trouble = true;
                sim.track(
                    "Ticket Opened",
                    json!({ "channel": "support", "category": "delivery", "priority": "high" }),
                );
                // Repeat contacts: the late-delivery friction.
                for _ in 0..sim.rng.range(1, 3) {
                    sim.days(1, 3);
                    let props = json!({ "channel": "phone", "direction": "inbound", "reason": "delivery", "duration_s": sim.rng.range(300, 1500) });
                    sim.track("Call Completed", props);
                }
                sim.days(1, 4);
                sim.track(
                    "Order Delivered",
                    json!({ "carrier": carrier, "late": true }),
                );
                sim.days(1, 6);
                let props = json!({ "channel": "support", "category": "delivery", "contacts": sim.rng.range(2, 4) });
                sim.track("Ticket Resolved", props);
                if sim.rng.chance(0.5) {
                    let score = sim.rng.range(1, 3);
                    sim.survey(
                        "csat",
                        score,
                        Topic::Delivery,
                        "support Ticket Opened",
                        "post-purchase",
                    );
                }
            } else {
                sim.days(2, 4);
                sim.track(
                    "Order Delivered",
                    json!({ "carrier": carrier, "late": false }),
                );
            }
        }
        if sim.rng.chance(0.08) {
            // The returns friction: effortful, slow, several calls.
            sim.days(2, 10);
            trouble = true;
            let props =
                json!({ "reason": *sim.rng.pick(&["damaged", "not as expected", "wrong size"]) });
            sim.track("Return Requested", props);
            sim.days(1, 3);
            let props = json!({ "channel": "phone", "direction": "inbound", "reason": "return", "duration_s": sim.rng.range(400, 1800) });
            sim.track("Call Completed", props);
            sim.days(7, 20);
            sim.track("Refund Issued", json!({ "channel": "other" }));
            let score = sim.rng.range(1, 3);
            sim.survey(
                "ces",
                score,
                Topic::Returns,
                "phone inbound",
                "post-purchase",
            );
        } else if sim.rng.chance(0.1) {
            sim.days(1, 20);
            let props = json!({ "channel": "support", "category": *sim.rng.pick(&["product question", "invoice", "assembly"]) });
            sim.track("Ticket Opened", props);
            sim.days(0, 2);
            sim.track(
                "Ticket Resolved",
                json!({ "channel": "support", "contacts": 1 }),
            );
            let score = sim.rng.range(3, 5);
            sim.survey(
                "csat",
                score,
                Topic::Support,
                "support Ticket Opened",
                "post-purchase",
            );
        }
        // NPS two weeks after purchase.
        if sim.rng.chance(0.45) {
            sim.days(10, 20);
            let score = if trouble {
                sim.rng.range(0, 7)
            } else {
                *sim.rng.pick(&[6, 7, 8, 8, 9, 9, 9, 10, 10, 10])
            };
            let topic = if trouble {
                Topic::Delivery
            } else {
                *sim.rng.pick(&[
                    Topic::Product,
                    Topic::Product,
                    Topic::Price,
                    Topic::Delivery,
                ])
            };
            sim.survey("nps", score, topic, "email nps", "post-purchase");
            // Advocacy: promoters review and refer.
            if score >= 9 {
                if sim.rng.chance(0.5) {
                    sim.days(0, 5);
                    let pick = sim.rng.next_u64() as usize;
                    let props = json!({ "rating": sim.rng.range(4, 5), "text": comment(sim.lang, Topic::Product, Tone::Positive, pick), "language": sim.lang.code(), "site": "trustpilot" });
                    sim.track("Review Submitted", props);
                }
                if sim.rng.chance(0.3) {
                    sim.days(0, 15);
                    sim.track(
                        "Referral Sent",
                        json!({ "channel": "referral", "code": format!("REF{}", sim.cid) }),
                    );
                }
            } else if score <= 4 && sim.rng.chance(0.4) {
                sim.days(0, 5);
                let pick = sim.rng.next_u64() as usize;
                let topic = if trouble {
                    Topic::Delivery
                } else {
                    Topic::Product
                };
                let props = json!({ "rating": sim.rng.range(1, 2), "text": comment(sim.lang, topic, Tone::Negative, pick), "language": sim.lang.code(), "site": "trustpilot" });
                sim.track("Review Submitted", props);
            }
        }
        // Loyalty: a repeat purchase.
        if !trouble && sim.rng.chance(0.3) {
            sim.days(25, 90);
            sim.track_campaign(
                "Email Clicked",
                NEWSLETTER,
                json!({ "email_name": "newsletter-weekly" }),
            );
            sim.page("/collections/nouveautes", Some(NEWSLETTER), None);
            let (slug, _, price) = *sim.rng.pick(PRODUCTS);
            sim.track("Order Completed", json!({ "order_id": format!("ord-{}-r", sim.cid), "revenue": price, "currency": "EUR", "products": [{ "product_id": slug, "quantity": 1, "price": price }], "repeat": true }));
        }
        let _ = place;
    }

    /// A stakeholder of a Lumière Pro account. The account's deal outcome is drawn from
    /// the account's own generator, so all its stakeholders agree on it.
    fn b2b_journey(&self, sim: &mut Sim, index: u64, place: &Place) {
        let account_index = index / 20;
        let role_index = (index % 20) / 5;
        let mut acct = Rng::for_entity(self.seed, 2, account_index);
        let account = format!("acct-{account_index:05}");
        let deal = format!("deal-{account_index:05}");
        let industry = *acct.pick(&[
            "hospitality",
            "offices",
            "retail",
            "healthcare",
            "education",
        ]);
        let employees = *acct.pick(&[25, 80, 250, 1200]);
        let reaches_sales = acct.chance(0.55);
        let branch_trial = acct.chance(0.5);
        let wins = acct.chance(0.45);
        let amount = (acct.uniform(4_000.0, 80_000.0) / 100.0).round() * 100.0;
        let account_start =
            Demo::start() + (acct.f64() * 0.75 * (Demo::end() - Demo::start()) as f64) as i64;
        let role = ["champion", "user", "decision-maker", "finance"][role_index as usize];
        sim.user_id = None;
        sim.t = account_start + sim.rng.range(0, 20) * MICROS_PER_DAY;
        sim.email = format!("{role}.{account_index}@{}-pro.example", industry);
        // Research.
        if sim.rng.chance(0.5) {
            sim.track_campaign("Ad Impression", LINKEDIN, json!({ "network": "linkedin" }));
            sim.days(0, 2);
            sim.track_campaign("Ad Clicked", LINKEDIN, json!({ "network": "linkedin" }));
            sim.page("/pro", Some(LINKEDIN), Some("https://www.linkedin.com/"));
        } else {
            sim.page("/pro/references", None, Some("https://www.google.com/"));
        }
        if role_index >= 2 && !reaches_sales {
            return; // Decision makers only show up when there is a deal.
        }
        sim.days(0, 10);
        sim.page("/pro/catalogue", None, Some(""));
        sim.track(
            "Catalogue Downloaded",
            json!({ "format": "pdf", "segment": "pro" }),
        );
        sim.identify(json!({
            "email": sim.email, "persona": format!("b2b-{role}"), "role": role, "country": place.country,
            "city": place.city, "language": sim.lang.code(), "company": format!("Account {account_index}"),
        }));
        sim.group(&account, json!({ "type": "account", "name": format!("Account {account_index}"), "industry": industry, "employees": employees }));
        sim.account = Some(account.clone());
        if !reaches_sales {
            return;
        }
        // Sales contact, then the branch: a demo or a free trial.
        sim.t =
            sim.t.max(account_start + 15 * MICROS_PER_DAY) + sim.rng.range(0, 10) * MICROS_PER_DAY;
        if role_index == 0 {
            let props = json!({ "channel": "phone", "direction": "outbound", "reason": "discovery", "duration_s": sim.rng.range(900, 2700) });
            sim.track("Call Completed", props);
            sim.days(1, 7);
            if branch_trial {
                sim.track("Trial Started", json!({ "plan": "pro-trial" }));
            } else {
                sim.track("Demo Requested", json!({ "format": "showroom" }));
                sim.days(2, 9);
                let props = json!({ "channel": "event", "location": *sim.rng.pick(STORES) });
                sim.track("Demo Attended", props);
            }
            sim.group(&deal, json!({ "type": "deal", "account_id": account, "amount": amount, "stage": "qualification" }));
        } else {
            sim.days(5, 25);
            sim.page("/pro/etudes-de-cas", None, Some(""));
        }
        // Quote and negotiation, with the finance stakeholder.
        sim.t =
            sim.t.max(account_start + 40 * MICROS_PER_DAY) + sim.rng.range(0, 20) * MICROS_PER_DAY;
        if role_index == 0 {
            sim.track(
                "Quote Sent",
                json!({ "channel": "email", "amount": amount, "deal_id": deal }),
            );
        }
        if role_index == 3 {
            let props = json!({ "channel": "phone", "direction": "outbound", "reason": "negotiation", "duration_s": sim.rng.range(600, 2400) });
            sim.track("Call Completed", props);
        }
        sim.t =
            sim.t.max(account_start + 70 * MICROS_PER_DAY) + sim.rng.range(0, 30) * MICROS_PER_DAY;
        if role_index == 2 {
            if wins {
                sim.track("Order Completed", json!({ "order_id": deal, "deal_id": deal, "revenue": amount, "currency": "EUR", "segment": "pro" }));
                sim.group(&deal, json!({ "type": "deal", "account_id": account, "amount": amount, "stage": "won" }));
            } else {
                let props = json!({ "deal_id": deal, "reason": *sim.rng.pick(&["price", "timing", "competitor"]) });
                sim.track("Deal Lost", props);
                sim.group(&deal, json!({ "type": "deal", "account_id": account, "amount": amount, "stage": "lost" }));
            }
        }
        if wins && role_index <= 1 {
            sim.days(10, 30);
            sim.track("Onboarding Completed", json!({ "segment": "pro" }));
            if sim.rng.chance(0.5) {
                sim.days(20, 40);
                let score = *sim.rng.pick(&[5, 7, 8, 9, 9, 10]);
                sim.survey("nps", score, Topic::Support, "email nps", "post-purchase");
            }
        }
    }

    /// Daily spend of every paid campaign over its active days.
    pub fn costs(&self) -> Vec<AdCost> {
        let mut rows = Vec::new();
        for (ci, c) in CAMPAIGNS.iter().enumerate() {
            if c.daily_cost.1 <= 0.0 {
                continue;
            }
            let mut rng = Rng::for_entity(self.seed, 3, ci as u64);
            // Spend scales with the audience, as a real budget would.
            let scale = (self.customers as f64 / 2000.0).max(0.05);
            for day in c.days.0..c.days.1 {
                let cost = rng.uniform(c.daily_cost.0, c.daily_cost.1) * scale;
                let impressions = (cost * rng.uniform(80.0, 140.0)) as i64;
                rows.push(AdCost {
                    day: format_rfc3339(Demo::start() + day * MICROS_PER_DAY)[..10].to_string(),
                    campaign: c.name.into(),
                    channel: c.channel.into(),
                    source: c.source.into(),
                    cost: (cost * 100.0).round() / 100.0,
                    currency: "EUR".into(),
                    impressions: Some(impressions),
                    clicks: Some((impressions as f64 * rng.uniform(0.008, 0.03)) as i64),
                });
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_time_ordered_per_customer() {
        let demo = Demo {
            seed: 42,
            customers: 100,
        };
        for i in 0..100 {
            let a = demo.customer(i);
            assert_eq!(a, demo.customer(i), "customer {i} not deterministic");
            let times: Vec<&str> = a.iter().map(|m| m["timestamp"].as_str().unwrap()).collect();
            assert!(
                times.windows(2).all(|w| w[0] <= w[1]),
                "customer {i} out of order"
            );
        }
        assert_ne!(
            Demo {
                seed: 1,
                customers: 10
            }
            .customer(3),
            Demo {
                seed: 2,
                customers: 10
            }
            .customer(3)
        );
    }
}
