//! Sessions and the web KPIs built on them: visitors, sessions, bounce rate, duration,
//! pages per session, entry and exit pages, traffic by channel, campaign and source.
//! The rules are in `docs/semantics.md` ("Sessions").

use std::collections::HashMap;

use serde::Serialize;

use crate::event::EventKind;
use crate::frame::{kind_code, Frame};
use crate::time::{Micros, MICROS_PER_SECOND};

#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// A gap longer than this between two page views starts a new session.
    pub timeout: Micros,
    /// A page view carrying another campaign than the session's starts a new session.
    pub split_on_campaign: bool,
    /// Sessions starting at or after this time.
    pub from: Option<Micros>,
    /// Sessions starting before this time.
    pub to: Option<Micros>,
    /// Rows listed in each table.
    pub top: usize,
}

impl Default for SessionOptions {
    fn default() -> SessionOptions {
        SessionOptions {
            timeout: 30 * 60 * MICROS_PER_SECOND,
            split_on_campaign: true,
            from: None,
            to: None,
            top: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionReport {
    pub timeout_s: f64,
    pub visitors: u64,
    pub sessions: u64,
    pub pageviews: u64,
    pub bounce_rate: f64,
    pub avg_duration_s: f64,
    pub pages_per_session: f64,
    pub entry_pages: Vec<PageRow>,
    pub exit_pages: Vec<PageRow>,
    pub by_channel: Vec<TrafficRow>,
    pub by_campaign: Vec<TrafficRow>,
    pub by_source: Vec<TrafficRow>,
}

/// A page (its touchpoint name, e.g. `web /produits/lampe-arc`) as entry or exit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageRow {
    pub page: String,
    pub sessions: u64,
    /// Of the sessions entering (or leaving) here, the share with one page view.
    pub bounce_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficRow {
    pub value: String,
    pub sessions: u64,
    pub visitors: u64,
    pub bounce_rate: f64,
    pub pages_per_session: f64,
    pub avg_duration_s: f64,
}

/// One session, as the aggregation sees it.
struct Session {
    actor: u32,
    entry: usize,
    exit: usize,
    pages: u64,
    duration: Micros,
}

#[derive(Default)]
struct Tally {
    sessions: u64,
    bounces: u64,
    pages: u64,
    duration: i128,
    visitors: Vec<u32>,
}

impl Tally {
    fn add(&mut self, s: &Session) {
        self.sessions += 1;
        self.bounces += (s.pages == 1) as u64;
        self.pages += s.pages;
        self.duration += s.duration as i128;
        if self.visitors.last() != Some(&s.actor) {
            self.visitors.push(s.actor);
        }
    }

    fn row(mut self, value: String) -> TrafficRow {
        self.visitors.sort_unstable();
        self.visitors.dedup();
        let n = self.sessions.max(1) as f64;
        TrafficRow {
            value,
            sessions: self.sessions,
            visitors: self.visitors.len() as u64,
            bounce_rate: self.bounces as f64 / n,
            pages_per_session: self.pages as f64 / n,
            avg_duration_s: self.duration as f64 / n / MICROS_PER_SECOND as f64,
        }
    }
}

/// Cuts every actor's page and screen views into sessions (see the module docs).
fn sessions_of(frame: &Frame, options: &SessionOptions) -> Vec<Session> {
    let page = kind_code(EventKind::Page);
    let screen = kind_code(EventKind::Screen);
    let (ts, kinds, campaigns) = (frame.ts(), frame.kind(), frame.campaign());
    let mut out = Vec::new();
    for a in 0..frame.actor_count() {
        let mut current: Option<(Session, u32)> = None;
        for i in frame.actor_range(a) {
            if kinds[i] != page && kinds[i] != screen {
                continue;
            }
            let campaign = campaigns[i];
            let continues = current.as_ref().is_some_and(|(s, c)| {
                ts[i] - ts[s.exit] <= options.timeout
                    && !(options.split_on_campaign && campaign != 0 && campaign != *c)
            });
            if continues {
                let (s, _) = current.as_mut().expect("checked");
                s.exit = i;
                s.pages += 1;
                s.duration = ts[i] - ts[s.entry];
            } else {
                out.extend(current.take().map(|(s, _)| s));
                let session = Session {
                    actor: a as u32,
                    entry: i,
                    exit: i,
                    pages: 1,
                    duration: 0,
                };
                current = Some((session, campaign));
            }
        }
        out.extend(current.map(|(s, _)| s));
    }
    out.retain(|s| {
        let t = ts[s.entry];
        options.from.is_none_or(|f| t >= f) && options.to.is_none_or(|to| t < to)
    });
    out
}

fn top_rows(tallies: HashMap<String, Tally>, top: usize) -> Vec<TrafficRow> {
    let mut rows: Vec<TrafficRow> = tallies.into_iter().map(|(v, t)| t.row(v)).collect();
    rows.sort_by(|a, b| {
        b.sessions
            .cmp(&a.sessions)
            .then_with(|| a.value.cmp(&b.value))
    });
    rows.truncate(top);
    rows
}

fn page_rows(pages: HashMap<u32, (u64, u64)>, frame: &Frame, top: usize) -> Vec<PageRow> {
    let mut rows: Vec<PageRow> = pages
        .into_iter()
        .map(|(tp, (n, bounces))| PageRow {
            page: frame.touchpoints().name(tp).to_string(),
            sessions: n,
            bounce_rate: bounces as f64 / n.max(1) as f64,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.sessions
            .cmp(&a.sessions)
            .then_with(|| a.page.cmp(&b.page))
    });
    rows.truncate(top);
    rows
}

/// The session report. `source` is the frame's column of campaign sources (the
/// `$source` property), when it was built with one.
pub fn session_report(
    frame: &Frame,
    source: Option<&[u32]>,
    options: &SessionOptions,
) -> SessionReport {
    let sessions = sessions_of(frame, options);
    let mut all = Tally::default();
    let (mut channels, mut campaigns, mut sources) =
        (HashMap::new(), HashMap::new(), HashMap::new());
    let (mut entries, mut exits) = (HashMap::new(), HashMap::new());
    for s in &sessions {
        all.add(s);
        let e = s.entry;
        let channel = frame.channels().name(frame.channel()[e] as u32).to_string();
        channels
            .entry(channel)
            .or_insert_with(Tally::default)
            .add(s);
        let campaign = match frame.campaign()[e] {
            0 => "(none)".to_string(),
            c => frame.campaigns().name(c).to_string(),
        };
        campaigns
            .entry(campaign)
            .or_insert_with(Tally::default)
            .add(s);
        let source = frame.values().label(source.map_or(0, |col| col[e]));
        sources.entry(source).or_insert_with(Tally::default).add(s);
        let bounce = (s.pages == 1) as u64;
        for (map, i) in [(&mut entries, s.entry), (&mut exits, s.exit)] {
            let row: &mut (u64, u64) = map.entry(frame.touchpoint()[i]).or_default();
            row.0 += 1;
            row.1 += bounce;
        }
    }
    let totals = all.row(String::new());
    SessionReport {
        timeout_s: options.timeout as f64 / MICROS_PER_SECOND as f64,
        visitors: totals.visitors,
        sessions: totals.sessions,
        pageviews: sessions.iter().map(|s| s.pages).sum(),
        bounce_rate: totals.bounce_rate,
        avg_duration_s: totals.avg_duration_s,
        pages_per_session: totals.pages_per_session,
        entry_pages: page_rows(entries, frame, options.top),
        exit_pages: page_rows(exits, frame, options.top),
        by_channel: top_rows(channels, options.top),
        by_campaign: top_rows(campaigns, options.top),
        by_source: top_rows(sources, options.top),
    }
}
