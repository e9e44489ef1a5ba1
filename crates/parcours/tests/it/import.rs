//! `parcours import` on fixture files: mapping, constants, conventions, rejected lines,
//! idempotence, JSON Lines and ad costs.

use std::path::PathBuf;

use parcours::import::{import_file, Mapping, Options, Summary};
use parcours_store::{SqliteStore, Store, StoreOptions};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/import")).join(name)
}

fn lines(summary: &Summary) -> Vec<(u64, String, Option<String>)> {
    (summary.rejected.kept().iter())
        .map(|r| (r.line, r.code.clone(), r.field.clone()))
        .collect()
}

/// Imports a fixture with the default conventions.
fn import(store: &SqliteStore, ws: i64, name: &str) -> Summary {
    import_file(
        store,
        ws,
        &fixture(name),
        &Mapping::default(),
        &Options::default(),
    )
    .unwrap()
}

fn open() -> (tempfile::TempDir, SqliteStore, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    let ws = store.create_workspace("w").unwrap().id;
    (dir, store, ws)
}

/// Writes `text` as a CSV file and imports it with the default conventions into a fresh
/// store (the file is in the store's directory).
fn import_csv(text: impl AsRef<[u8]>) -> (tempfile::TempDir, SqliteStore, i64, Summary) {
    let (dir, store, ws) = open();
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, text).unwrap();
    let summary = import_file(&store, ws, &csv, &Mapping::default(), &Options::default()).unwrap();
    (dir, store, ws, summary)
}

/// What `f` makes of each stored event, in the order they were stored.
fn stored<T>(store: &SqliteStore, ws: i64, f: impl Fn(parcours_core::Event) -> T) -> Vec<T> {
    let mut out = Vec::new();
    store
        .scan_events(ws, 0, &mut |e| out.push(f(e.event)))
        .unwrap();
    out
}

/// The current traits of the person an identifier names.
fn traits_of(store: &SqliteStore, ws: i64, identifier: &str) -> serde_json::Value {
    let person = store.resolve(ws, identifier).unwrap().unwrap();
    serde_json::Value::Object(store.person(ws, person).unwrap().unwrap().traits)
}

/// Command-line arguments for importing `calls.csv`.
fn call_args(maps: &[&str], mapping: Option<PathBuf>) -> parcours::import::ImportArgs {
    parcours::import::ImportArgs {
        files: vec![fixture("calls.csv")],
        workspace: "w".into(),
        maps: maps.iter().map(|m| m.to_string()).collect(),
        mapping,
        no_progress: true,
        ..Default::default()
    }
}

fn calls_mapping() -> Mapping {
    Mapping::from_args(&call_args(&[], Some(fixture("calls.toml")))).unwrap()
}

#[test]
fn call_log_with_a_mapping_file_reports_bad_lines_and_imports_once() {
    let (_dir, store, ws) = open();
    // A dry run first: the same rows found valid and rejected, the first events shown,
    // nothing stored.
    let check = parcours::import::check_file(
        None,
        &fixture("calls.csv"),
        &calls_mapping(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!((check.rows, check.valid, check.inserted), (5, Some(3), 0));
    let shown: Vec<(&str, &str)> = (check.examples.iter())
        .map(|e| (e.name.as_str(), e.touch.channel.as_str()))
        .collect();
    assert_eq!(shown, [("Call Completed", "phone"); 3]);
    assert_eq!(store.event_count(ws).unwrap(), 0);
    let summary = import_file(
        &store,
        ws,
        &fixture("calls.csv"),
        &calls_mapping(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        (summary.rows, summary.inserted, summary.duplicates),
        (5, 3, 0)
    );
    assert_eq!(
        lines(&summary),
        vec![
            (4, "invalid_timestamp".into(), Some("timestamp".into())),
            (5, "missing_field".into(), Some("userId".into()))
        ]
    );
    assert_eq!(lines(&check), lines(&summary));
    let person = store.resolve(ws, "cust-1").unwrap().unwrap();
    let events = store.person_events(ws, person).unwrap();
    assert_eq!(events.len(), 2);
    let call = &events[0].event;
    assert_eq!(call.name, "Call Completed");
    assert_eq!(call.touch.channel, "phone");
    assert_eq!(call.touch.touchpoint, "phone inbound");
    assert!(!call.touch.online);
    assert_eq!(call.properties["duration_s"], 320);
    assert_eq!(call.properties["agent"], "Inès");
    assert_eq!(
        parcours_core::time::format_rfc3339(call.timestamp),
        "2024-05-02T09:15:00.000000Z"
    );
    // The same file again adds nothing.
    let again = import_file(
        &store,
        ws,
        &fixture("calls.csv"),
        &calls_mapping(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        (again.inserted, again.duplicates, again.rejected.rows()),
        (0, 3, 2)
    );
    assert_eq!(store.event_count(ws).unwrap(), 3);
}

#[test]
fn store_sales_by_convention_with_flags() {
    let (_dir, store, ws) = open();
    let mapping = Mapping {
        columns: [("store".to_string(), "properties.store".to_string())].into(),
        constants: [
            ("event".to_string(), "Order Completed".to_string()),
            ("channel".to_string(), "store".to_string()),
        ]
        .into(),
    };
    let options = Options {
        delimiter: Some(b';'),
        ..Options::default()
    };
    let summary = import_file(&store, ws, &fixture("store_sales.csv"), &mapping, &options).unwrap();
    // `amount` is revenue by convention; `abc` is not a number, but revenue is optional:
    // the row is kept without revenue rather than rejected.
    assert_eq!(
        (summary.rows, summary.inserted),
        (3, 3),
        "{:?}",
        summary.rejected
    );
    let person = store
        .resolve(ws, "ana@example.com")
        .unwrap()
        .expect("email column is an identity");
    let sale = &store.person_events(ws, person).unwrap()[0].event;
    assert_eq!(sale.touch.revenue, Some(129.9));
    assert_eq!(sale.touch.currency.as_deref(), Some("EUR"));
    assert_eq!(sale.touch.touchpoint, "store Lyon Confluence");
    assert_eq!(
        sale.properties["order_ref"], "000123",
        "leading zeros stay text"
    );
    let odd = store
        .person_events(ws, store.resolve(ws, "cust-9").unwrap().unwrap())
        .unwrap();
    assert_eq!(odd[0].event.touch.revenue, None);
}

/// A CRM's contacts export: no event column, so every row is an identify call and its
/// columns are traits (Segment's reserved ones by their usual headers); its creation
/// date is the time.
#[test]
fn a_crm_contacts_export_is_identify_calls_with_traits() {
    let (_dir, store, ws) = open();
    let mapping = Mapping {
        columns: [("Record ID".to_string(), "user_id".to_string())].into(),
        ..Mapping::default()
    };
    let summary = import_file(
        &store,
        ws,
        &fixture("crm_contacts.csv"),
        &mapping,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        (summary.rows, summary.inserted),
        (2, 2),
        "{:?}",
        summary.rejected
    );
    assert_eq!(
        traits_of(&store, ws, "ana@example.com"),
        serde_json::json!({
            "email": "ana@example.com",
            "firstName": "Ana",
            "lastName": "Martin",
            "phone": "+33 6 12 34 56 78",
            "company": "Acme",
            "Lifecycle Stage": "lead",
            "Employees": 250,
        })
    );
    assert_eq!(traits_of(&store, ws, "102")["firstName"], "Léo");
    let times = stored(&store, ws, |e| (e.kind, utc(e.timestamp)));
    assert_eq!(times[0].0, parcours_core::EventKind::Identify);
    assert_eq!(times[0].1, "2024-05-01T10:00:00.000000Z");
}

/// In a file with an event column, a row whose event cell is empty is refused as a track
/// without a name (as over HTTP), not stored as an identify call; a `type` column says
/// which rows of a mixed file are identify calls.
#[test]
fn a_row_of_events_without_its_event_is_refused() {
    let (_dir, store, ws, summary) = import_csv(
        "user_id,event,timestamp,plan\n\
         u1,Call Completed,2026-03-01T10:00:00Z,\n\
         u2,,2026-03-01T11:00:00Z,pro\n",
    );
    assert_eq!((summary.rows, summary.inserted), (2, 1));
    assert_eq!(
        lines(&summary),
        [(3, "missing_field".to_string(), Some("event".to_string()))]
    );
    assert!(store.resolve(ws, "u2").unwrap().is_none());
    let (_dir, store, ws, summary) = import_csv(
        "user_id,type,event,timestamp,plan\n\
         u1,track,Call Completed,2026-03-01T10:00:00Z,\n\
         u2,identify,,2026-03-01T11:00:00Z,pro\n",
    );
    assert_eq!(
        (summary.rows, summary.inserted),
        (2, 2),
        "{:?}",
        lines(&summary)
    );
    let kinds = stored(&store, ws, |e| e.kind);
    assert_eq!(
        kinds,
        [
            parcours_core::EventKind::Track,
            parcours_core::EventKind::Identify
        ]
    );
}

/// Columns named as creation or order dates are the time only when no column is named
/// as one; files with an event are track calls, their columns properties.
#[test]
fn a_creation_date_is_the_time_only_without_a_time_column() {
    let (_dir, store, ws, summary) = import_csv(
        "date,order_date,user_id,event,First Name\n2024-05-03,2024-05-01,u1,Order Shipped,Ana\n",
    );
    assert_eq!(summary.inserted, 1, "{:?}", summary.rejected);
    let (time, properties) = stored(&store, ws, |e| (utc(e.timestamp), e.properties)).remove(0);
    assert_eq!(time, "2024-05-03T00:00:00.000000Z");
    assert_eq!(properties["order_date"], "2024-05-01");
    assert_eq!(properties["First Name"], "Ana");
}

/// A Segment warehouse `tracks` table exported as CSV: its own columns go where Segment
/// took them from, its times are not corrected again, and a re-import adds nothing.
#[test]
fn a_segment_warehouse_table_imports_as_the_events_it_was_loaded_from() {
    let (_dir, store, ws) = open();
    let summary = import(&store, ws, "segment_tracks.csv");
    assert_eq!(
        (summary.rows, summary.inserted),
        (2, 2),
        "{:?}",
        summary.rejected
    );
    let events = stored(&store, ws, |e| e);
    let (viewed, ordered) = (&events[0], &events[1]);
    assert_eq!(
        (viewed.message_id.as_str(), viewed.name.as_str()),
        ("ajs-1", "Product Viewed")
    );
    assert_eq!(ordered.name, "Order Completed");
    // `timestamp` as loaded: not moved to the time of the import.
    assert_eq!(utc(viewed.timestamp), "2024-05-01T10:00:00.000000Z");
    assert_eq!(utc(ordered.timestamp), "2024-05-01T10:10:00.000000Z");
    assert_eq!(viewed.touch.channel, "paid_search");
    assert_eq!(viewed.touch.campaign.name.as_deref(), Some("spring"));
    assert_eq!(viewed.context["page"]["path"], "/p/42");
    assert_eq!(viewed.context["userAgent"], "Mozilla/5.0");
    assert_eq!(ordered.context["device"]["advertisingId"], "ad-9");
    assert_eq!(ordered.touch.revenue, Some(59.9));
    assert_eq!(ordered.properties["order_id"], "o-1");
    for loaded in [
        "sent_at",
        "received_at",
        "uuid_ts",
        "original_timestamp",
        "event",
    ] {
        assert!(ordered.properties.get(loaded).is_none(), "{loaded}");
    }
    // The order carries both ids: the anonymous product view is the user's.
    let person = store.resolve(ws, "u-7").unwrap().unwrap();
    assert_eq!(store.person_events(ws, person).unwrap().len(), 2);
    let again = import(&store, ws, "segment_tracks.csv");
    assert_eq!((again.inserted, again.duplicates), (0, 2));
}

/// What Windows tools add to files: a byte order mark before JSON Lines (whose format is
/// still told by their first character), and Excel's `sep=;` line before a CSV's header
/// (which names the delimiter, and counts in the lines told).
#[test]
fn a_byte_order_mark_and_excel_s_separator_line_are_passed_over() {
    let (dir, store, ws) = open();
    let jsonl = dir.path().join("export"); // no extension: told by its content
    std::fs::write(
        &jsonl,
        "\u{feff}{\"type\":\"track\",\"event\":\"A\",\"userId\":\"u\",\"timestamp\":\"2024-05-01T10:00:00Z\"}\n",
    )
    .unwrap();
    let summary =
        import_file(&store, ws, &jsonl, &Mapping::default(), &Options::default()).unwrap();
    assert_eq!(summary.inserted, 1, "{:?}", summary.rejected);
    let csv = dir.path().join("excel.csv");
    std::fs::write(
        &csv,
        "sep=;\ndate;user_id;event\n2024-05-01;u1;B\nnot a date;u1;C\n",
    )
    .unwrap();
    let summary = import_file(&store, ws, &csv, &Mapping::default(), &Options::default()).unwrap();
    assert_eq!(summary.inserted, 1);
    assert_eq!(
        lines(&summary),
        vec![(4, "invalid_timestamp".into(), Some("timestamp".into()))]
    );
    let costs = dir.path().join("costs.csv");
    std::fs::write(
        &costs,
        "sep=;\nDate;Campaign;Spend\n2024-05-01;c1;12,5\n2024-05-02;c1;x\n",
    )
    .unwrap();
    let summary =
        import_file(&store, ws, &costs, &Mapping::default(), &Options::default()).unwrap();
    assert_eq!(summary.inserted, 1);
    assert_eq!(
        lines(&summary),
        vec![(4, "invalid_value".into(), Some("cost".into()))]
    );
}

/// An order's line items, one row each (Shopify writes the order's totals on its first
/// row only; a till writes each line's amount): one event per order with `--group-by`,
/// its lines as `properties.products`, its revenue summed.
#[test]
fn line_items_grouped_by_order_are_one_event_each() {
    let (dir, store, ws) = open();
    let mapping = Mapping {
        columns: [
            ("Lineitem name", "product.name"),
            ("Lineitem price", "product.price"),
            ("Lineitem quantity", "product.quantity"),
        ]
        .map(|(c, f)| (c.to_string(), f.to_string()))
        .into(),
        constants: [("event".to_string(), "Order Completed".to_string())].into(),
    };
    let by_order = Options {
        group_by: Some("Name".into()),
        ..Options::default()
    };
    let orders = fixture("shopify_orders.csv");
    let summary = import_file(&store, ws, &orders, &mapping, &by_order).unwrap();
    assert_eq!(
        (summary.rows, summary.inserted),
        (3, 2),
        "{:?}",
        summary.rejected
    );
    let events = stored(&store, ws, |e| {
        (e.touch.revenue, e.properties["products"].clone())
    });
    assert_eq!(
        events,
        vec![
            (
                Some(64.9),
                serde_json::json!([{"name": "Lampe", "price": 59.0, "quantity": 1}])
            ),
            (
                Some(35.9),
                serde_json::json!([
                    {"name": "Bougie", "price": 15.0, "quantity": 2},
                    {"name": "Vase", "price": 0.0, "quantity": 1}
                ])
            ),
        ]
    );
    let again = import_file(&store, ws, &orders, &mapping, &by_order).unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 2));
    assert_eq!(summary.regrouped.map(|r| r.groups), Some(0));

    // A till's tickets, each line with its amount, over more rows than a batch holds (a
    // ticket may span two batches), and lines without a ticket (each its own event).
    let mut csv = String::from("date;ticket;user_id;article;montant\n");
    for t in 0..4000 {
        for (article, amount) in [("pain", "1,20"), ("lait", "0,95"), ("café", "4,50")] {
            csv += &format!("2024-05-01;T{t};u{};{article};{amount}\n", t % 7);
        }
        if t % 700 == 0 {
            csv += &format!("2024-05-01;;u1;sac {t};0,10\n");
        }
    }
    let tickets = dir.path().join("tickets.csv");
    std::fs::write(&tickets, csv).unwrap();
    let till = Mapping {
        columns: [("article", "product.name"), ("montant", "revenue")]
            .map(|(c, f)| (c.to_string(), f.to_string()))
            .into(),
        constants: [("event".to_string(), "Order Completed".to_string())].into(),
    };
    let options = Options {
        group_by: Some("ticket".into()),
        decimal_comma: true,
        ..Options::default()
    };
    let (_d, store, ws) = open();
    let summary = import_file(&store, ws, &tickets, &till, &options).unwrap();
    assert_eq!(
        (summary.rows, summary.inserted),
        (12_006, 4006),
        "{:?}",
        summary.rejected
    );
    let sales = stored(&store, ws, |e| {
        (
            e.touch.revenue,
            e.properties["products"].as_array().map_or(0, Vec::len),
        )
    });
    let tickets_seen = sales.iter().filter(|s| *s == &(Some(6.65), 3)).count();
    let bags = sales.iter().filter(|s| *s == &(Some(0.1), 1)).count();
    assert_eq!((tickets_seen, bags), (4000, 6), "{:?}", &sales[..5]);
    // No ticket came back, though some spanned two batches (held back, then read again).
    assert_eq!(summary.regrouped.map(|r| r.groups), Some(0));

    // Rows of a ticket that are not together: each run is an event, and the summary
    // names the values that came back, with the line each came back on and its first.
    let unsorted = dir.path().join("unsorted.csv");
    std::fs::write(
        &unsorted,
        "date;ticket;user_id;article;montant\n\
         2024-05-01;T1;u1;pain;1,20\n2024-05-01;T1;u1;lait;0,95\n2024-05-01;T2;u2;pain;1,20\n\
         2024-05-01;T1;u1;café;4,50\n2024-05-01;T3;u3;pain;1,20\n2024-05-01;T2;u2;lait;0,95\n",
    )
    .unwrap();
    let (_d, store, ws) = open();
    let summary = import_file(&store, ws, &unsorted, &till, &options).unwrap();
    assert_eq!((summary.rows, summary.inserted), (6, 5));
    let regrouped = summary.regrouped.unwrap();
    assert_eq!(regrouped.groups, 2);
    let first: Vec<_> = regrouped
        .first
        .iter()
        .map(|g| (g.line, g.value.as_str(), g.first_line))
        .collect();
    assert_eq!(first, [(5, "T1", 2), (7, "T2", 4)]);

    // Grouping is for CSV rows, by a column of the file.
    let err = import_file(
        &store,
        ws,
        &fixture("events.jsonl"),
        &Mapping::default(),
        &options,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("--group-by"), "{err:#}");
    let no_column = Options {
        group_by: Some("Order".into()),
        ..Options::default()
    };
    let err = import_file(&store, ws, &orders, &mapping, &no_column).unwrap_err();
    assert!(format!("{err:#}").contains("no such column"), "{err:#}");
}

/// Ad platforms' cost exports as they download: Meta Ads Manager's column names (the
/// currency in the cost's header), Google Ads' title and date lines above the header,
/// grouped numbers and total rows below the days, Microsoft Advertising's nine lines of
/// report header, its column names, CRLF line ends and copyright footer; the channel and
/// source they lack given once with `--set`. Lines told are the file's.
#[test]
fn ad_platforms_cost_exports_import_as_they_download() {
    let (_dir, store, ws) = open();
    let set = |channel: &str, source: &str| Mapping {
        constants: [("channel", channel), ("utm_source", source)]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        ..Mapping::default()
    };
    let meta = import_file(
        &store,
        ws,
        &fixture("meta_ads.csv"),
        &set("paid_social", "facebook"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!((meta.rows, meta.inserted), (2, 2), "{:?}", meta.rejected);
    let google = import_file(
        &store,
        ws,
        &fixture("google_ads.csv"),
        &set("paid_search", "google"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        (google.rows, google.inserted),
        (3, 2),
        "a campaign named Total… on a day is a day's costs"
    );
    assert_eq!(
        lines(&google),
        vec![(5, "invalid_value".into(), Some("cost".into()))]
    );
    assert_eq!(
        google.report_totals,
        [7, 8],
        "Total: Account, Total: Campaigns"
    );
    let microsoft = import_file(
        &store,
        ws,
        &fixture("microsoft_ads.csv"),
        &set("paid_search", "bing"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!((microsoft.rows, microsoft.inserted), (3, 2));
    assert_eq!(
        lines(&microsoft),
        vec![(12, "invalid_value".into(), Some("cost".into()))]
    );
    assert_eq!(microsoft.report_totals, [14], "the copyright line");
    let costs: Vec<_> = (store.costs(ws).unwrap().into_iter())
        .map(|c| {
            (
                c.day,
                c.campaign,
                c.channel,
                c.source,
                c.cost,
                c.currency,
                c.impressions,
                c.clicks,
            )
        })
        .collect();
    let row =
        |day: &str, campaign: &str, channel: &str, source: &str, cost, impressions, clicks| {
            (
                day.to_string(),
                campaign.to_string(),
                channel.to_string(),
                source.to_string(),
                cost,
                "EUR".to_string(),
                Some(impressions),
                Some(clicks),
            )
        };
    // A customer export with a date and a total spent, but no campaign, is not costs.
    let (dir, other, w) = open();
    let customers = dir.path().join("customers.csv");
    std::fs::write(
        &customers,
        "Date,Customer ID,Total Spent\n2024-05-01,c1,120\n",
    )
    .unwrap();
    let summary = import_file(
        &other,
        w,
        &customers,
        &Mapping::default(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(summary.inserted, 1, "{:?}", summary.rejected);
    assert!(other.costs(w).unwrap().is_empty());
    assert_eq!(
        costs,
        vec![
            row(
                "2024-05-01",
                "brand-search",
                "paid_search",
                "google",
                1234.56,
                12000,
                400
            ),
            row(
                "2024-05-01",
                "spring-sale",
                "paid_social",
                "facebook",
                120.5,
                10000,
                400
            ),
            row(
                "2024-05-02",
                "Total Recall",
                "paid_search",
                "google",
                10.0,
                100,
                5
            ),
            row(
                "2024-05-02",
                "spring-sale",
                "paid_social",
                "facebook",
                98.1,
                8000,
                310
            ),
            row(
                "2024-05-12",
                "bing-brand",
                "paid_search",
                "bing",
                45.1,
                1200,
                40
            ),
            row(
                "2024-05-14",
                "bing-brand",
                "paid_search",
                "bing",
                50.0,
                1100,
                38
            ),
        ]
    );
}

/// The options of an import in a locale: times without an offset in this time zone,
/// numbers with a decimal comma.
fn in_locale(timezone: &str, order: Option<&str>) -> Options {
    Options {
        dates: parcours::dates::DateReader::new(None, order, timezone).unwrap(),
        decimal_comma: true,
        ..Options::default()
    }
}

fn utc(micros: i64) -> String {
    parcours_core::time::format_rfc3339(micros)
}

/// A French spreadsheet export: byte order mark, semicolons, day-first dates in local
/// time (across both changes of summer time), decimal commas with grouped thousands.
#[test]
fn a_french_spreadsheet_export_is_read_in_its_locale() {
    let (_dir, store, ws) = open();
    let mapping = Mapping {
        columns: [
            ("Client", "user_id"),
            ("Montant TTC", "revenue"),
            ("Devise", "currency"),
            ("Magasin", "properties.store"),
        ]
        .map(|(c, f)| (c.to_string(), f.to_string()))
        .into(),
        constants: [("event".to_string(), "Order Completed".to_string())].into(),
    };
    // The delimiter is told by the header, the order of day and month by `28/03`.
    let options = in_locale("Europe/Paris", None);
    let summary = import_file(
        &store,
        ws,
        &fixture("ventes_magasins.csv"),
        &mapping,
        &options,
    )
    .unwrap();
    assert_eq!(
        (summary.rows, summary.inserted),
        (5, 4),
        "{:?}",
        summary.rejected
    );
    assert_eq!(
        lines(&summary),
        vec![(5, "invalid_timestamp".into(), Some("timestamp".into()))]
    );
    assert!(
        summary.rejected.kept()[0]
            .message
            .contains("13/25/2026 10:05"),
        "{:?}",
        summary.rejected
    );
    let sales = stored(&store, ws, |e| {
        (
            utc(e.timestamp),
            e.touch.revenue,
            e.properties["Réf"].clone(),
        )
    });
    let sale = |time: &str, revenue: f64, reference: &str| {
        (
            time.to_string(),
            Some(revenue),
            serde_json::json!(reference),
        )
    };
    assert_eq!(
        sales,
        vec![
            // Winter time, UTC+1.
            sale("2026-03-28T17:30:00.000000Z", 1234.5, "000981"),
            // 02:30 on 29 March does not exist in Paris (clocks go from 02:00 to 03:00):
            // read with the offset before the change, as 03:30 summer time.
            sale("2026-03-29T01:30:00.000000Z", 5.0, "000982"),
            // Summer time, UTC+2.
            sale("2026-03-30T08:05:00.000000Z", 19.9, "000983"),
            // 02:30 on 25 October happens twice: the first, still in summer time.
            sale("2026-10-25T00:30:00.000000Z", 1005.0, "000985"),
        ]
    );
    // Without the locale: the times are UTC, and `1 234,50` is not a number.
    let (_dir, store, ws) = open();
    import_file(
        &store,
        ws,
        &fixture("ventes_magasins.csv"),
        &mapping,
        &Options::default(),
    )
    .unwrap();
    let first = stored(&store, ws, |e| (utc(e.timestamp), e.touch.revenue)).remove(0);
    assert_eq!(first, ("2026-03-28T18:30:00.000000Z".to_string(), None));
}

/// The locale options from the command line.
#[test]
fn the_command_line_takes_the_locale_of_a_file() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let import = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_parcours"))
            .arg("import")
            .arg(fixture("ventes_magasins.csv"))
            .args([
                "--no-progress",
                "--workspace",
                "w",
                "--set",
                "event=Order Completed",
            ])
            .args(["--map", "Client=user_id", "--map", "Montant TTC=revenue"])
            .args(extra)
            .arg("--data-dir")
            .arg(&data)
            .env("PARCOURS_LOG_LEVEL", "error")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (ok, text) = import(&["--timezone", "Mars/Olympus"]);
    assert!(
        !ok && text.contains("--timezone \"Mars/Olympus\""),
        "{text}"
    );
    let (ok, text) = import(&["--delimiter", "→"]);
    assert!(!ok && text.contains("one ASCII character"), "{text}");
    assert!(!data.exists(), "refused before the store is opened");
    // A dry run reads and checks everything, shows the first events, creates nothing.
    let (ok, text) = import(&["--timezone", "Europe/Paris", "--decimal-comma", "--dry-run"]);
    assert!(ok, "{text}");
    assert!(
        text.starts_with("checked ")
            && text.contains("(dry run, nothing stored): 5 rows, 4 valid, 1 rejected"),
        "{text}"
    );
    assert!(text.contains(r#""revenue":1234.5"#), "{text}");
    assert!(
        text.contains(
            r#"2026-03-28T17:30:00.000000Z track "Order Completed" · user cust-1 · channel other"#
        ) && text.contains("revenue 1234.5 EUR"),
        "{text}"
    );
    assert!(!data.exists(), "a dry run creates nothing");
    // Ids may be named as the Segment spec spells them.
    let (ok, text) = import(&[
        "--dry-run",
        "--map",
        "Client=userId",
        "--set",
        "groupId=shops",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("· user cust-1 ·"), "{text}");
    // For scripts: one JSON object, each file's counts and rejected rows, the totals.
    let (ok, text) = import(&[
        "--timezone",
        "Europe/Paris",
        "--decimal-comma",
        "--dry-run",
        "--json",
    ]);
    assert!(ok, "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        report["total"],
        serde_json::json!({"rows": 5, "valid": 4, "inserted": 0, "duplicates": 0, "rejected": 1})
    );
    assert_eq!(report["files"][0]["rejected"][0]["line"], 5);
    assert_eq!(
        report["files"][0]["examples"][0]["touch"]["revenue"],
        1234.5
    );
    // A recurring export's options kept with its mapping; the command line's flags win.
    let toml = |options: &str| {
        let path = dir.path().join("ventes.toml");
        std::fs::write(&path, format!("[options]\n{options}")).unwrap();
        path.to_str().unwrap().to_string()
    };
    let kept = toml("timezone = \"Europe/Paris\"\ndecimal_comma = true\ndelimiter = \";\"\n");
    let (ok, text) = import(&["--mapping", &kept, "--dry-run", "--json"]);
    assert!(ok, "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = &report["files"][0]["examples"][0];
    assert_eq!(
        (
            first["timestamp"].as_i64(),
            first["touch"]["revenue"].as_f64()
        ),
        (Some(1_774_719_000_000_000), Some(1234.5))
    );
    let (ok, text) = import(&[
        "--mapping",
        &kept,
        "--timezone",
        "UTC",
        "--dry-run",
        "--json",
    ]);
    assert!(ok, "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        report["files"][0]["examples"][0]["timestamp"].as_i64(),
        Some(1_774_722_600_000_000)
    );
    let (ok, text) = import(&["--mapping", &toml("date_order = \"ymd\"\n")]);
    assert!(
        !ok && text.contains("`date_order` in") && text.contains("dmy or mdy"),
        "{text}"
    );
    let (ok, text) = import(&["--mapping", &toml("time_zone = \"Europe/Paris\"\n")]);
    assert!(!ok && text.contains("time_zone"), "{text}");
    assert!(!data.exists());

    let (ok, text) = import(&["--timezone", "Europe/Paris", "--decimal-comma"]);
    assert!(ok, "{text}");
    assert!(text.contains("5 rows, 4 stored"), "{text}");
    assert!(
        text.contains("line 5: invalid_timestamp (timestamp)"),
        "{text}"
    );
    let store = SqliteStore::open(&data, StoreOptions::default()).unwrap();
    let ws = store.workspace_by_name("w").unwrap().unwrap().id;
    let first = stored(&store, ws, |e| (utc(e.timestamp), e.touch.revenue)).remove(0);
    assert_eq!(
        first,
        ("2026-03-28T17:30:00.000000Z".to_string(), Some(1234.5))
    );
}

/// Excel's plain "CSV" in Western Europe is Windows-1252: read with `--encoding`, the
/// same export imports as its UTF-8 version does; without, its rows with accents are
/// rejected with the fix, and UTF-16 is refused with it.
#[test]
fn a_windows_1252_export_imports_with_its_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let utf8 = std::fs::read_to_string(fixture("ventes_magasins.csv")).unwrap();
    let cp1252: Vec<u8> = utf8
        .trim_start_matches('\u{feff}')
        .replace("Lyon Confluence", "Lyon Confluence – Œuvre d’art")
        .chars()
        .map(|c| match c {
            '–' => 0x96,
            'Œ' => 0x8c,
            '’' => 0x92,
            c => u8::try_from(u32::from(c)).expect("a Latin-1 character"),
        })
        .collect();
    let file = dir.path().join("ventes.csv");
    std::fs::write(&file, &cp1252).unwrap();
    let mapping = Mapping {
        columns: [("Client".to_string(), "user_id".to_string())].into(),
        constants: [("event".to_string(), "Order Completed".to_string())].into(),
    };
    let (_d, store, ws) = open();
    let options = Options {
        encoding: parcours::encoding::Encoding::Windows1252,
        ..in_locale("Europe/Paris", None)
    };
    let summary = import_file(&store, ws, &file, &mapping, &options).unwrap();
    assert_eq!(
        (summary.rows, summary.inserted),
        (5, 4),
        "{:?}",
        summary.rejected
    );
    let first = stored(&store, ws, |e| e.properties).remove(0);
    assert_eq!(first["Magasin"], "Lyon Confluence – Œuvre d’art");
    assert_eq!(first["Réf"], "000981");
    // A file that starts with UTF-8's byte order mark is UTF-8, whatever it was said to
    // be: read as Windows-1252 its first header would be "ï»¿Date" and its accents
    // garbled.
    let (_d, store, ws) = open();
    let summary = import_file(
        &store,
        ws,
        &fixture("ventes_magasins.csv"),
        &mapping,
        &options,
    )
    .unwrap();
    assert_eq!((summary.rows, summary.inserted), (5, 4));
    let first = stored(&store, ws, |e| e.properties).remove(0);
    assert_eq!(first["Réf"], "000981");
    // Read as UTF-8, its header is not, and the error says what to do; a row that is
    // not is rejected with the same advice.
    let (_d, store, ws) = open();
    let err = import_file(&store, ws, &file, &mapping, &Options::default()).unwrap_err();
    assert!(
        format!("{err:#}").contains("--encoding windows-1252"),
        "{err:#}"
    );
    let ascii_header = [
        &b"date,user_id,event,store\n2024-05-01,u1,E,Lyon\n"[..],
        b"2024-05-02,u1,E,Li\xe8ge\n",
    ]
    .concat();
    std::fs::write(&file, ascii_header).unwrap();
    let summary = import_file(&store, ws, &file, &mapping, &Options::default()).unwrap();
    assert_eq!(summary.inserted, 1);
    assert!(
        summary.rejected.kept()[0]
            .message
            .contains("--encoding windows-1252"),
        "{:?}",
        summary.rejected
    );
    // UTF-16 (Excel's "Unicode text") is refused up front.
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(utf8.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    std::fs::write(&file, utf16).unwrap();
    let err = import_file(&store, ws, &file, &mapping, &Options::default()).unwrap_err();
    assert!(format!("{err:#}").contains("UTF-16"), "{err:#}");
}

/// Dates that do not tell whether the day or the month comes first are refused before
/// anything is stored, naming one; the order can then be given.
#[test]
fn dates_that_cannot_tell_day_from_month_are_refused_until_told() {
    let (dir, store, ws) = open();
    let csv = dir.path().join("rows.csv");
    std::fs::write(
        &csv,
        "date,user_id,event\n03/04/2026,u1,Visit\n05/04/2026 09:30,u2,Visit\n",
    )
    .unwrap();
    let refused =
        import_file(&store, ws, &csv, &Mapping::default(), &Options::default()).unwrap_err();
    let refused = format!("{refused:#}");
    assert!(
        refused.contains("03/04/2026") && refused.contains("--date-order"),
        "{refused}"
    );
    assert_eq!(store.event_count(ws).unwrap(), 0);
    let summary = import_file(
        &store,
        ws,
        &csv,
        &Mapping::default(),
        &in_locale("UTC", Some("mdy")),
    )
    .unwrap();
    assert_eq!(summary.inserted, 2, "{:?}", summary.rejected);
    assert_eq!(
        stored(&store, ws, |e| utc(e.timestamp)),
        vec!["2026-03-04T00:00:00.000000Z", "2026-05-04T09:30:00.000000Z"]
    );
}

/// JSON Lines take the same options: a time without an offset is read in the time zone,
/// one with an offset as written.
#[test]
fn json_lines_times_without_an_offset_are_read_in_the_time_zone() {
    let (dir, store, ws) = open();
    let jsonl = dir.path().join("rows.jsonl");
    std::fs::write(
        &jsonl,
        concat!(
            r#"{"type":"track","event":"A","userId":"u","timestamp":"2026-07-01 12:00:00"}"#,
            "\n",
            r#"{"type":"track","event":"B","userId":"u","timestamp":"2026-07-01T12:00:00Z"}"#,
            "\n",
            r#"{"type":"track","event":"C","userId":"u","when":"01/07/2026 13:00"}"#,
            "\n",
        ),
    )
    .unwrap();
    let mapping = Mapping {
        columns: [("when".to_string(), "timestamp".to_string())].into(),
        ..Mapping::default()
    };
    let summary = import_file(
        &store,
        ws,
        &jsonl,
        &mapping,
        &in_locale("America/New_York", Some("dmy")),
    )
    .unwrap();
    assert_eq!(summary.inserted, 3, "{:?}", summary.rejected);
    assert_eq!(
        stored(&store, ws, |e| (e.name, utc(e.timestamp))),
        [
            ("A", "2026-07-01T16:00:00.000000Z"),
            ("B", "2026-07-01T12:00:00.000000Z"),
            ("C", "2026-07-01T17:00:00.000000Z"),
        ]
        .map(|(n, t)| (n.to_string(), t.to_string()))
    );
}

/// Ad costs of a decimal-comma locale, their days written day first.
#[test]
fn ad_costs_take_the_locale_of_their_file() {
    let (dir, store, ws) = open();
    let csv = dir.path().join("couts.csv");
    std::fs::write(
        &csv,
        "Date;Campaign;Channel;Spend;Currency\n31/05/2026;printemps;cpc;1 234,56;EUR\n01/06/2026;printemps;cpc;0,5;EUR\n",
    )
    .unwrap();
    // The time zone does not move a day.
    let summary = import_file(
        &store,
        ws,
        &csv,
        &Mapping::default(),
        &in_locale("Pacific/Auckland", None),
    )
    .unwrap();
    assert_eq!(summary.inserted, 2, "{:?}", summary.rejected);
    let costs: Vec<(String, f64)> = store
        .costs(ws)
        .unwrap()
        .into_iter()
        .map(|c| (c.day, c.cost))
        .collect();
    assert_eq!(
        costs,
        vec![
            ("2026-05-31".to_string(), 1234.56),
            ("2026-06-01".to_string(), 0.5)
        ]
    );
}

#[test]
fn json_lines_are_segment_messages() {
    let (_dir, store, ws) = open();
    let summary = import(&store, ws, "events.jsonl");
    assert_eq!(
        lines(&summary),
        vec![
            (4, "missing_field".into(), Some("event".into())),
            (5, "malformed_json".into(), None),
            (6, "missing_field".into(), Some("timestamp".into())),
        ]
    );
    assert_eq!((summary.rows, summary.inserted), (7, 4));
    let person = store.resolve(ws, "web-1").unwrap().unwrap();
    let names: Vec<String> = store
        .person_events(ws, person)
        .unwrap()
        .into_iter()
        .map(|e| e.event.name)
        .collect();
    assert_eq!(
        names,
        [
            "Home",
            "$identify",
            "Newsletter Subscribed",
            "Ticket Opened"
        ]
    );
    let again = import(&store, ws, "events.jsonl");
    assert_eq!((again.inserted, again.duplicates), (0, 4));
}

/// A file's messages were recorded earlier (a Segment archive holds `timestamp`,
/// `originalTimestamp`, `sentAt` and `receivedAt`): their `timestamp` is the event time,
/// else the client's time is corrected against the `receivedAt` they record — never
/// against the time of the import, which moved every event with a `sentAt` to it.
#[test]
fn json_lines_keep_the_times_they_recorded() {
    let (_dir, store, ws) = open();
    let summary = import(&store, ws, "recorded-times.jsonl");
    assert_eq!(
        lines(&summary),
        vec![(5, "invalid_timestamp".into(), Some("receivedAt".into()))],
        "an unreadable receivedAt refused only where the event time needs it"
    );
    let micros = |t: &str| parcours_core::time::parse_rfc3339(t).unwrap();
    let got = stored(&store, ws, |e| {
        (e.message_id, e.timestamp, e.original_timestamp, e.sent_at)
    });
    let at = |t| Some(micros(t));
    assert_eq!(
        got,
        [
            // The archive's own timestamp.
            (
                "a-1".into(),
                micros("2026-03-01T10:00:00Z"),
                at("2026-03-01T10:00:05Z"),
                at("2026-03-01T10:00:06Z")
            ),
            // receivedAt − (sentAt − originalTimestamp).
            (
                "a-2".into(),
                micros("2026-03-01T10:00:00Z"),
                at("2026-03-01T10:00:05Z"),
                at("2026-03-01T10:00:06Z")
            ),
            // Nothing to correct against: the client's time.
            (
                "a-3".into(),
                micros("2026-03-01T10:00:05Z"),
                at("2026-03-01T10:00:05Z"),
                at("2026-03-01T10:00:06Z")
            ),
            (
                "a-4".into(),
                micros("2026-03-01T10:00:00Z"),
                at("2026-03-01T10:00:00Z"),
                at("2026-03-01T10:00:06Z")
            ),
            // Dates as exports write them, read as the timestamp is.
            (
                "a-6".into(),
                micros("2026-03-01T10:00:00Z"),
                at("2026-03-01T10:00:05Z"),
                at("2026-03-01T10:00:06Z")
            ),
        ]
    );
}

/// `parcours export` writes stored events; importing that file elsewhere gives the same
/// events (ids, times, objects, the channel and touchpoint derived again) and the same
/// persons, and importing it again adds nothing.
#[test]
fn an_export_imports_as_the_same_events() {
    let (dir, store, ws) = open();
    for name in ["crm_contacts.csv", "events.jsonl", "segment_tracks.csv"] {
        assert!(import(&store, ws, name).inserted > 0, "{name}");
    }
    // What `parcours export` prints: one stored event per line.
    let mut export = Vec::new();
    store
        .scan_events(ws, 0, &mut |e| {
            serde_json::to_writer(&mut export, &e).unwrap();
            export.push(b'\n');
        })
        .unwrap();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &export).unwrap();
    let copy = store.create_workspace("copy").unwrap().id;
    let import_copy = || {
        import_file(
            &store,
            copy,
            &file,
            &Mapping::default(),
            &Options::default(),
        )
        .unwrap()
    };
    let summary = import_copy();
    assert!(summary.rejected.kept().is_empty(), "{:?}", lines(&summary));
    assert!(
        summary.by_email.is_none(),
        "its lines name their persons by id"
    );
    // The times parcours set on receiving them (and a missing client time, which an
    // import reads as the timestamp) aside, the same events in the same order.
    let events = |ws| {
        stored(&store, ws, |mut e| {
            e.received_at = 0;
            e.original_timestamp = e.original_timestamp.or(Some(e.timestamp));
            e
        })
    };
    let (original, copied) = (events(ws), events(copy));
    assert_eq!(original.len() as u64, summary.inserted);
    assert_eq!(original, copied);
    let mut ids = std::collections::BTreeSet::new();
    for e in &original {
        ids.extend(e.user_id.iter().chain(&e.anonymous_id).cloned());
    }
    // The same persons: two identifiers share one in the copy exactly when they do in
    // the original.
    let person = |ws, id: &String| store.resolve(ws, id).unwrap();
    for a in &ids {
        for b in &ids {
            assert_eq!(
                person(ws, a) == person(ws, b),
                person(copy, a) == person(copy, b),
                "{a} and {b}"
            );
        }
    }
    let again = import_copy();
    assert_eq!((again.inserted, again.duplicates), (0, summary.inserted));
}

/// JSON Lines are read as request bodies are (objects kept as written); a mapping still
/// moves a key into them, and a line that is not UTF-8 is rejected by its number while
/// the lines around it are kept.
#[test]
fn json_lines_take_mappings_into_their_objects_and_reject_lines_not_utf8() {
    let (dir, store, ws) = open();
    let mut file = Vec::new();
    file.extend_from_slice(
        br#"{"type":"track","event":"Plan Chosen","userId":"u1","plan":"pro","properties": { "price" : 49, "tier":"gold", "tier":"silver" },"timestamp":"2024-05-01T10:00:00Z"}"#,
    );
    file.extend_from_slice(b"\n{\"type\":\"track\",\"event\":\"Bad\",\"userId\":\"u1\",\"properties\":{\"n\":\"\xff\"},\"timestamp\":\"2024-05-01T10:01:00Z\"}\n");
    file.extend_from_slice(
        br#"{"type":"track","event":"Listed","userId":"u1","properties":[1],"timestamp":"2024-05-01T10:02:00Z"}"#,
    );
    file.extend_from_slice(b"\n   \n");
    file.extend_from_slice(
        br#"{"type":"track","event":"Kept","userId":"u1","context":null,"timestamp":"2024-05-01T10:03:00Z"}"#,
    );
    let path = dir.path().join("rows.jsonl");
    std::fs::write(&path, &file).unwrap();
    let mapping = Mapping {
        columns: [("plan".to_string(), "properties.plan".to_string())].into(),
        constants: [("context.source".to_string(), "crm".to_string())].into(),
    };
    let summary = import_file(&store, ws, &path, &mapping, &Options::default()).unwrap();
    assert_eq!(
        lines(&summary),
        vec![
            (2, "malformed_json".into(), None),
            (3, "invalid_type".into(), Some("properties".into())),
        ]
    );
    assert_eq!((summary.rows, summary.inserted), (4, 2));
    let events = stored(&store, ws, |e| {
        let object = |o: parcours_core::JsonObject| serde_json::Value::Object(o.into_map());
        (e.name, object(e.properties), object(e.context))
    });
    assert_eq!(
        events,
        [
            (
                "Plan Chosen".to_string(),
                serde_json::json!({"price": 49, "tier": "silver", "plan": "pro"}),
                serde_json::json!({"source": "crm"}),
            ),
            (
                "Kept".to_string(),
                serde_json::json!({}),
                serde_json::json!({"source": "crm"}),
            ),
        ]
    );
}

/// `name` gzip-compressed into `dir` (named `name.gz`).
fn gzipped(dir: &std::path::Path, name: &str) -> PathBuf {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(fixture(name)).unwrap())
        .unwrap();
    let path = dir.join(format!("{name}.gz"));
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    path
}

/// A gzip export (`.csv.gz`, `.jsonl.gz`, ad costs too) imports as its content would,
/// and a second import of the plain file adds nothing; a damaged one is an error that
/// names the file's reading.
#[test]
fn gzip_files_import_as_their_content() {
    let every = |store: &SqliteStore, ws| stored(store, ws, |e| (e.message_id, e.name));
    let costs = |store: &SqliteStore, ws| {
        let costs = store.costs(ws).unwrap();
        costs
            .iter()
            .map(|c| (c.channel.clone(), c.cost))
            .collect::<Vec<_>>()
    };
    for (name, mapping) in [
        ("events.jsonl", Mapping::default()),
        ("calls.csv", calls_mapping()),
        ("costs.csv", Mapping::default()),
    ] {
        let (dir, store, ws) = open();
        let (_plain_dir, plain_store, plain_ws) = open();
        let gz = gzipped(dir.path(), name);
        let options = Options::default();
        let summary = import_file(&store, ws, &gz, &mapping, &options)
            .unwrap_or_else(|e| panic!("{name}.gz: {e:#}"));
        let plain =
            import_file(&plain_store, plain_ws, &fixture(name), &mapping, &options).unwrap();
        assert!(summary.inserted > 0, "{name}");
        assert_eq!(lines(&summary), lines(&plain), "{name}");
        assert_eq!(
            (summary.rows, summary.inserted),
            (plain.rows, plain.inserted),
            "{name}"
        );
        assert_eq!(every(&store, ws), every(&plain_store, plain_ws), "{name}");
        assert_eq!(costs(&store, ws), costs(&plain_store, plain_ws), "{name}");
        if name != "costs.csv" {
            // (Costs are replaced by a re-import, and counted again.)
            let again = import_file(&store, ws, &fixture(name), &mapping, &options).unwrap();
            assert_eq!(again.inserted, 0, "{name}");
        }
    }
    let (dir, store, ws) = open();
    let gz = gzipped(dir.path(), "events.jsonl");
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() - 12]).unwrap();
    let err = import_file(&store, ws, &gz, &Mapping::default(), &Options::default())
        .expect_err("a truncated gzip file");
    assert!(format!("{err:#}").contains("reading"), "{err:#}");
}

/// A file whose content fails part way (a gzip export cut short): the rows read before
/// are stored, and the error says how many, by the file's name.
#[test]
fn rows_read_before_a_file_fails_are_stored_and_counted() {
    use std::io::Write;
    // About 3 MB of events (more than the first MiB read to guess the format), of
    // varied content so that the compressed file is not tiny.
    let row = |i: u64| {
        let noise = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (
            format!("m-{i:06}"),
            format!("u-{}", i % 977),
            format!("{noise:x}"),
        )
    };
    let mut jsonl = String::new();
    let mut csv = String::from("message_id,type,event,user_id,timestamp,properties.note\n");
    for i in 0..30_000 {
        let (id, user, note) = row(i);
        jsonl += &format!(
            r#"{{"messageId":"{id}","type":"track","event":"Viewed","userId":"{user}","timestamp":"2024-05-01T10:00:00Z","properties":{{"note":"{note}"}}}}"#
        );
        jsonl.push('\n');
        csv += &format!("{id},track,Viewed,{user},2024-05-01T10:00:00Z,{note}\n");
    }
    for (name, text) in [("cut.jsonl.gz", jsonl), ("cut.csv.gz", csv)] {
        let (dir, store, ws) = open();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes[..bytes.len() * 3 / 4]).unwrap();
        let err = import_file(&store, ws, &path, &Mapping::default(), &Options::default())
            .expect_err("a file cut short");
        let message = format!("{err:#}");
        assert!(
            message.contains(&format!("reading {}", path.display())),
            "{message}"
        );
        let ids = stored(&store, ws, |e| e.message_id);
        assert!(ids.len() > 5_000 && ids.len() < 30_000, "{}", ids.len());
        let told = format!("the {} rows stored before are kept", ids.len());
        assert!(message.contains(&told), "{message}");
        // Every row read before the failure, none of them left in a batch unsent.
        let read = format!(
            "after {} {}",
            if name.contains("csv") { "row" } else { "line" },
            ids.len()
        );
        assert!(message.contains(&read), "{message}");
        // The first rows of the file, each once, in order.
        let first: Vec<String> = (0..ids.len() as u64).map(|i| row(i).0).collect();
        assert_eq!(ids, first, "{name}");
    }
}

/// `serde_json`'s private raw-value key in an object must not leave a stored text that
/// reads back as something else: before, such an event was stored as written and every
/// later read of the workspace failed ("the stored data is damaged"). The store reads
/// its JSON columns as JSON says (`view::plain_object`), whatever key comes first.
#[test]
fn serde_json_s_raw_value_key_cannot_poison_the_store() {
    let (dir, store, ws) = open();
    let path = dir.path().join("rows.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"event":"Top","userId":"u","timestamp":"2024-05-01T10:00:00Z","properties":{"$serde_json::private::RawValue":"5"}}"#,
            "\n",
            r#"{"event":"Nested","userId":"u","timestamp":"2024-05-01T10:00:01Z","properties":{"a":{"$serde_json::private::RawValue":"[1]"}}}"#,
            "\n",
            // Not first, so serde_json reads it as a key; the map it makes (keys in
            // order) stores it first, where a `Value` parse would read it as raw text.
            r#"{"event":"Later","userId":"u","timestamp":"2024-05-01T10:00:03Z","properties":{"a":1,"$serde_json::private::RawValue":"/x"}}"#,
            "\n",
        ),
    )
    .unwrap();
    let summary = import_file(&store, ws, &path, &Mapping::default(), &Options::default()).unwrap();
    assert_eq!(
        lines(&summary),
        vec![(1, "invalid_type".into(), Some("properties".into()))]
    );
    let csv = dir.path().join("rows.csv");
    std::fs::write(
        &csv,
        "event,user_id,timestamp,properties\nCell,u,2024-05-01T10:00:02Z,\"{\"\"a\"\":{\"\"$serde_json::private::RawValue\"\":\"\"[1]\"\"}}\"\n",
    )
    .unwrap();
    let summary = import_file(&store, ws, &csv, &Mapping::default(), &Options::default()).unwrap();
    assert_eq!(summary.rejected.rows(), 1);
    assert!(
        summary.rejected.kept()[0].message.contains("is reserved"),
        "{:?}",
        summary.rejected
    );
    let events = stored(&store, ws, |e| {
        (e.name, serde_json::Value::Object(e.properties.into_map()))
    });
    assert_eq!(
        events,
        [
            ("Nested".to_string(), serde_json::json!({"a": [1]})),
            (
                "Later".to_string(),
                serde_json::json!({"a": 1, "$serde_json::private::RawValue": "/x"})
            ),
        ]
    );
}

/// `parcours import -` reads standard input, plain or gzip, CSV or JSON Lines (ad costs
/// included), as it reads a file: the same rows, the same report.
#[test]
fn standard_input_imports_as_a_file_does() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let import = |bytes: Vec<u8>, workspace: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_parcours"))
            .args(["import", "-", "--no-progress", "--workspace", workspace])
            .arg("--data-dir")
            .arg(&data)
            .env("PARCOURS_LOG_LEVEL", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&bytes).unwrap());
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    let jsonl = std::fs::read(fixture("events.jsonl")).unwrap();
    let out = import(jsonl.clone(), "plain");
    assert!(
        out.starts_with("imported standard input: 7 rows, 4 stored, 0 duplicates, 3 rejected"),
        "{out}"
    );
    assert!(out.contains("line 5: malformed_json"), "{out}");
    let out = import(gzip(&jsonl), "plain");
    assert!(out.contains("7 rows, 0 stored, 4 duplicates"), "{out}");
    let out = import(b"\n \n".to_vec(), "plain");
    assert!(out.starts_with("imported standard input: 0 rows"), "{out}");
    let costs = std::fs::read(fixture("costs.csv")).unwrap();
    let out = import(gzip(&costs), "costs");
    let store = SqliteStore::open(&data, StoreOptions::default()).unwrap();
    let ws = store.workspace_by_name("costs").unwrap().unwrap().id;
    assert_eq!(store.costs(ws).unwrap().len(), 3, "{out}");
}

/// A file most of whose rows are rejected: every one counted, by reason, the first 1,000
/// by line kept whole (whatever order the parsing threads finished in), and the report
/// and `--json` say so without listing them all.
#[test]
fn rejected_rows_beyond_the_first_thousand_are_counted_by_reason() {
    use parcours::import::KEPT_REJECTIONS;
    // 12,000 rows, three batches: every row but each tenth has a bad time, and one in ten
    // of those has no user.
    let mut text = String::from("event,userId,timestamp\n");
    for i in 0..12_000u64 {
        let user = if i % 100 == 10 {
            String::new()
        } else {
            format!("u-{i}")
        };
        let time = match i % 10 {
            0 => "2024-05-01T09:00:00Z".to_string(),
            _ => format!("not a time {i}"),
        };
        text.push_str(&format!("Viewed,{user},{time}\n"));
    }
    let (dir, _store, _ws, summary) = import_csv(&text);
    let missing_user = 120u64;
    let bad_time = 12_000 - 1_200;
    assert_eq!(summary.inserted, 1_200 - missing_user);
    assert_eq!(summary.rejected.rows(), bad_time + missing_user);
    let kept: Vec<u64> = summary.rejected.kept().iter().map(|r| r.line).collect();
    // Line i + 2 holds row i; rows 0, 20, 30… are valid (not 10, 110…).
    let first: Vec<u64> = (0..12_000u64)
        .filter(|i| i % 10 != 0 || i % 100 == 10)
        .map(|i| i + 2)
        .take(KEPT_REJECTIONS)
        .collect();
    assert_eq!(kept, first);
    let reasons: Vec<(&str, Option<&str>, u64, u64)> = (summary.rejected.reasons().iter())
        .map(|r| (r.code.as_str(), r.field.as_deref(), r.rows, r.first_line))
        .collect();
    assert_eq!(
        reasons,
        [
            ("invalid_timestamp", Some("timestamp"), bad_time, 3),
            ("missing_field", Some("userId"), missing_user, 12),
        ]
    );
    assert!(summary.rejected.reasons()[0]
        .message
        .contains("not a time 1"));
    // The command's report and JSON.
    let csv = dir.path().join("rows.csv");
    let run = |json: bool| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_parcours"))
            .args(["import", "--no-progress", "--dry-run", "--workspace", "w"])
            .args(json.then_some("--json"))
            .arg(&csv)
            .arg("--data-dir")
            .arg(dir.path().join("elsewhere"))
            .env("PARCOURS_LOG_LEVEL", "error")
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let report = run(false);
    let total = bad_time + missing_user;
    assert!(
        report.contains(&format!(
            "… and {} more rejected rows; all of them by reason:",
            total - 50
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "    invalid_timestamp (timestamp): {bad_time} rows, the first at line 3: "
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "    missing_field (userId): {missing_user} rows, the first at line 12: "
        )),
        "{report}"
    );
    assert_eq!(
        report.lines().filter(|l| l.starts_with("  line ")).count(),
        50
    );
    let json: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    let file = &json["files"][0];
    assert_eq!(file["rejected_rows"], total);
    assert_eq!(file["rejected"].as_array().unwrap().len(), KEPT_REJECTIONS);
    assert_eq!(file["rejected_by_reason"][1]["rows"], missing_user);
    assert_eq!(file["rejected_by_reason"][1]["first_line"], 12);
    assert_eq!(json["total"]["rejected"], total);
}

/// `--rejects FILE`: every rejected row, in file order, as the input has it (cells as
/// read, multi-line, quoted or not UTF-8), with why in `parcours_rejected`; fixed there,
/// the file imports with the same options and adds exactly the fixed rows.
#[test]
fn rejected_rows_are_written_to_fix_and_import_again() {
    let (dir, store, ws) = open();
    let rejects = dir.path().join("rejects.csv");
    let with_rejects = |path: &std::path::Path| Options {
        rejects: Some(path.to_path_buf()),
        ..Options::default()
    };
    // 12,000 rows (three batches, parsed in parallel): each 1,000th has a bad time; and
    // a row without a user, one of the wrong width, one not UTF-8, and one on two lines
    // with a bad time.
    let mut text = b"event,userId,timestamp,note\n".to_vec();
    for i in 0..12_000u32 {
        let time = match i % 1000 {
            999 => format!("not a time {i}"),
            _ => "2024-05-01T09:00:00Z".to_string(),
        };
        let row = match i {
            5 => format!("Viewed,,{time},no user\n"),
            6 => "Viewed,u-6\n".to_string(),
            8 => "Viewed,u-8,not a time,\"two\nlines\"\n".to_string(),
            _ => format!("Viewed,u-{i},{time},\"n, {i}\"\n"),
        };
        text.extend_from_slice(row.as_bytes());
        if i == 7 {
            text.extend_from_slice(b"Viewed,u-7b,2024-05-01T09:00:00Z,caf\xe9\n");
        }
    }
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, &text).unwrap();
    let summary = import_file(
        &store,
        ws,
        &csv,
        &Mapping::default(),
        &with_rejects(&rejects),
    )
    .unwrap();
    assert_eq!(summary.rejected.rows(), 4 + 12, "{:?}", summary.rejected);
    assert_eq!(
        summary.rejects_file.as_deref(),
        Some(rejects.to_str().unwrap())
    );
    let written = std::fs::read(&rejects).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&written[..]);
    assert_eq!(
        reader.byte_headers().unwrap(),
        vec!["event", "userId", "timestamp", "note", "parcours_rejected"]
    );
    let rows: Vec<csv::ByteRecord> = reader.byte_records().map(Result::unwrap).collect();
    let whys: Vec<String> = (rows.iter())
        .map(|r| String::from_utf8_lossy(r.iter().next_back().unwrap()).to_string())
        .collect();
    // In file order: the lines of the input (row i on line i + 2, then i + 3 after the
    // row added after row 7, then i + 4 after row 8's two lines), with their reasons.
    let lines: Vec<u64> = (whys.iter())
        .map(|w| {
            w.strip_prefix("line ")
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let mut expected = vec![7, 8, 10, 11];
    expected.extend((1..=12).map(|k| 1000 * k + 3));
    assert_eq!(lines, expected, "{whys:?}");
    assert!(whys[0].contains("missing_field (userId)"), "{}", whys[0]);
    assert!(whys[1].contains("malformed_csv"), "{}", whys[1]);
    assert!(whys[2].contains("not UTF-8"), "{}", whys[2]);
    assert_eq!(&rows[2][3], b"caf\xe9", "the bytes as read");
    assert_eq!(&rows[3][3], b"two\nlines");
    assert!(whys[3].contains("invalid_timestamp"), "{}", whys[3]);
    assert!(whys[4].contains("invalid_timestamp"), "{}", whys[4]);
    assert_eq!(&rows[4][1], b"u-999");
    // Fixed in place (a spreadsheet would rewrite the file; so does this).
    let mut fixed = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    fixed
        .write_record(["event", "userId", "timestamp", "note", "parcours_rejected"])
        .unwrap();
    for (k, row) in rows.iter().enumerate() {
        let mut cells: Vec<Vec<u8>> = row.iter().map(<[u8]>::to_vec).collect();
        match k {
            0 => cells[1] = b"u-5".to_vec(),
            1 => {
                cells = vec![
                    b"Viewed".to_vec(),
                    b"u-6".to_vec(),
                    b"2024-05-01T09:00:00Z".to_vec(),
                    b"".to_vec(),
                    cells[2].clone(),
                ]
            }
            2 => cells[3] = "café".as_bytes().to_vec(),
            // The two-line row (3) and every other bad time are left: rejected again.
            _ if k >= 4 && k % 2 == 0 => cells[2] = b"2024-05-02T09:00:00Z".to_vec(),
            _ => {}
        }
        fixed.write_record(&cells).unwrap();
    }
    std::fs::write(&rejects, fixed.into_inner().unwrap()).unwrap();
    let before = store.event_count(ws).unwrap();
    let again = dir.path().join("rejects-again.csv");
    let second = import_file(
        &store,
        ws,
        &rejects,
        &Mapping::default(),
        &with_rejects(&again),
    )
    .unwrap();
    assert_eq!(second.inserted, 3 + 6, "{:?}", second.rejected);
    assert_eq!(store.event_count(ws).unwrap(), before + 9);
    // The same row fixed the same way in the original file is the same event: the
    // column saying why is not part of the content its message id comes from.
    let original = std::fs::read(&csv).unwrap();
    let at = (original.windows(8))
        .position(|w| w == b"Viewed,,")
        .unwrap();
    let fixed_original = [&original[..at], b"Viewed,u-5,", &original[at + 8..]].concat();
    std::fs::write(&csv, fixed_original).unwrap();
    let third = import_file(&store, ws, &csv, &Mapping::default(), &Options::default()).unwrap();
    assert_eq!(third.inserted, 0, "{:?}", third.rejected);
    assert_eq!(store.event_count(ws).unwrap(), before + 9);
    // The column is not a property of the events it stored.
    let notes = stored(&store, ws, |e| {
        e.properties.contains_key("parcours_rejected")
    });
    assert!(!notes.into_iter().any(|has| has));
    // Rejected again, each says why anew, in the column it had.
    let written = std::fs::read_to_string(&again).unwrap();
    let mut reader = csv::Reader::from_reader(written.as_bytes());
    assert_eq!(reader.headers().unwrap().len(), 5);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 7, "{written}");
    assert!(
        records
            .iter()
            .all(|r| r[4].starts_with("line ") && r[4].contains("invalid_timestamp")),
        "{written}"
    );
}

/// `--rejects` for JSON Lines (the key first in an object, other lines as they are), a
/// `--group-by` group (all its rows), ad costs, a Windows-1252 file (written back in
/// it), and a dry run (which writes them too, storing nothing).
#[test]
fn rejected_rows_are_written_as_each_kind_of_input_has_them() {
    let (dir, store, ws) = open();
    let path = |name: &str| dir.path().join(name);
    let options = |rejects: &str| Options {
        rejects: Some(path(rejects)),
        ..Options::default()
    };
    let import = |name: &str, options: &Options| {
        import_file(&store, ws, &path(name), &Mapping::default(), options)
    };
    let run = |name: &str, text: &[u8], options: &Options| {
        std::fs::write(path(name), text).unwrap();
        let summary = import(name, options).unwrap();
        (
            summary,
            std::fs::read(options.rejects.as_ref().unwrap()).unwrap(),
        )
    };
    // JSON Lines.
    let lines = concat!(
        r#"{"event":"A","userId":"u1","timestamp":"2024-05-01T09:00:00Z"}"#,
        "\n",
        r#"{"event":"B","userId":"u1"}"#,
        "\r\n",
        "[1, 2]\n",
        r#"{"event":"#,
        "\n",
    );
    let (summary, written) = run("events.jsonl", lines.as_bytes(), &options("bad.jsonl"));
    assert_eq!((summary.inserted, summary.rejected.rows()), (1, 3));
    let written = String::from_utf8(written).unwrap();
    let written: Vec<&str> = written.lines().collect();
    assert_eq!(written.len(), 3);
    assert!(
        written[0].starts_with(r#"{"parcours_rejected":"line 2: missing_field (timestamp): "#)
            && written[0].ends_with(r#"","event":"B","userId":"u1"}"#),
        "{}",
        written[0]
    );
    assert_eq!(written[1], "[1, 2]");
    assert!(written[2].starts_with(r#"{"parcours_rejected":"line 4: malformed_json"#));
    // Fixed, the key is dropped: imported as the line without it.
    let fixed = written[0].replace(
        r#""userId":"u1"}"#,
        r#""userId":"u1","timestamp":"2024-05-02T09:00:00Z"}"#,
    );
    std::fs::write(path("fixed.jsonl"), fixed).unwrap();
    let again = import("fixed.jsonl", &Options::default()).unwrap();
    assert_eq!(again.inserted, 1, "{:?}", again.rejected);
    // Fixed the same way in the original file: the same event.
    let original = lines.replace(
        r#""userId":"u1"}"#,
        r#""userId":"u1","timestamp":"2024-05-02T09:00:00Z"}"#,
    );
    std::fs::write(path("events.jsonl"), original).unwrap();
    let third = import("events.jsonl", &Options::default()).unwrap();
    assert_eq!(
        (third.inserted, third.duplicates),
        (0, 2),
        "{:?}",
        third.rejected
    );
    // A group of `--group-by`: all its rows.
    let grouped = Options {
        group_by: Some("order".into()),
        ..options("bad-orders.csv")
    };
    let orders = "order,event,userId,timestamp,product.name\n1,Order Completed,u1,soon,A\n1,,,,B\n2,Order Completed,u2,2024-05-01T09:00:00Z,C\n";
    let (summary, written) = run("orders.csv", orders.as_bytes(), &grouped);
    assert_eq!((summary.inserted, summary.rejected.rows()), (1, 1));
    let why = "line 2: invalid_timestamp (timestamp): `timestamp`: \"soon\" is not a date this import can read (give --date-format)";
    assert_eq!(
        String::from_utf8(written).unwrap(),
        format!("order,event,userId,timestamp,product.name,parcours_rejected\n1,Order Completed,u1,soon,A,\"{}\"\n1,,,,B,\"{}\"\n", why.replace('"', "\"\""), why.replace('"', "\"\""))
    );
    // Ad costs.
    let costs = "day,campaign,cost\n2024-05-01,spring,12.5\n2024-05-02,spring,lots\n";
    let (summary, written) = run("costs.csv", costs.as_bytes(), &options("bad-costs.csv"));
    assert_eq!((summary.inserted, summary.rejected.rows()), (1, 1));
    assert_eq!(
        String::from_utf8(written).unwrap(),
        "day,campaign,cost,parcours_rejected\n2024-05-02,spring,lots,line 3: invalid_value (cost): the cost must be a number ≥ 0\n"
    );
    // Windows-1252, written back in it; in a dry run, nothing stored.
    let before = store.event_count(ws).unwrap();
    let latin = Options {
        encoding: parcours::encoding::Encoding::Windows1252,
        ..options("bad-latin.csv")
    };
    std::fs::write(
        path("latin.csv"),
        b"event;userId;timestamp;note\nVu;u1;hier;\xe9t\xe9\nVu;u2;2024-05-01T09:00:00Z;ok\n",
    )
    .unwrap();
    let check = parcours::import::check_file(
        Some((&store, ws)),
        &path("latin.csv"),
        &Mapping::default(),
        &latin,
    )
    .unwrap();
    assert_eq!((check.valid, check.rejected.rows()), (Some(1), 1));
    let written = std::fs::read(path("bad-latin.csv")).unwrap();
    assert!(written.starts_with(b"event;userId;timestamp;note;parcours_rejected\nVu;u1;hier;\xe9t\xe9;\"line 2: invalid_timestamp"), "{}", String::from_utf8_lossy(&written));
    assert_eq!(store.event_count(ws).unwrap(), before);
    // A file that cannot be written: refused before anything is read or stored.
    let nowhere = Options {
        rejects: Some(path("no-such-dir").join("bad.csv")),
        ..Options::default()
    };
    let costs_before = store.costs(ws).unwrap();
    std::fs::write(path("costs.csv"), costs.replace("2024-05-01", "2024-05-03")).unwrap();
    let err = import("costs.csv", &nowhere).unwrap_err();
    assert!(
        format!("{err:#}").contains("--rejects: creating"),
        "{err:#}"
    );
    assert_eq!(store.costs(ws).unwrap(), costs_before);
    // An empty export: nothing rejected, and an empty file says so.
    let (summary, written) = run("quiet-day.csv", b"\n", &options("bad-none.csv"));
    assert_eq!((summary.rows, written.len()), (0, 0));
}

/// A JSON line longer than 1 MiB (a file with no line ends, a dump of one array) is
/// refused unread and skipped: the lines around it are imported.
#[test]
fn a_json_line_too_long_to_be_an_event_is_skipped_unread() {
    let (dir, store, ws) = open();
    let mut text = br#"{"event":"A","userId":"u","timestamp":"2024-05-01T09:00:00Z"}"#.to_vec();
    text.push(b'\n');
    text.extend(std::iter::repeat_n(b'[', 3 << 20));
    text.extend_from_slice(b"\n\n");
    text.extend_from_slice(br#"{"event":"B","userId":"u","timestamp":"2024-05-01T09:00:00Z"}"#);
    let file = dir.path().join("long.jsonl");
    std::fs::write(&file, &text).unwrap();
    let summary = import_file(&store, ws, &file, &Mapping::default(), &Options::default()).unwrap();
    assert_eq!((summary.rows, summary.inserted), (3, 2));
    assert_eq!(lines(&summary), vec![(2, "event_too_large".into(), None)]);
    assert_eq!(
        summary.rejected.kept()[0].message,
        "the line is longer than 1 MiB (an event is at most 32 KB)"
    );
    assert_eq!(stored(&store, ws, |e| e.name), ["A", "B"]);
}

/// Several files in one command: each imported in turn and reported, then the total; a
/// failing file stops the command, naming it and how many were imported before.
#[test]
fn several_files_are_imported_in_turn_with_a_total() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |files: &[PathBuf]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_parcours"))
            .args(["import", "--no-progress", "--workspace", "w"])
            .args(files)
            .arg("--data-dir")
            .arg(&data)
            .env("PARCOURS_LOG_LEVEL", "error")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (ok, out, err) = run(&[fixture("events.jsonl"), fixture("costs.csv")]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("imported")).collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("events.jsonl: 7 rows, 4 stored"), "{out}");
    assert!(lines[1].contains("costs.csv: 4 rows, 3 stored"), "{out}");
    assert_eq!(
        lines[2],
        "imported 2 files: 11 rows, 7 stored, 0 duplicates, 4 rejected"
    );
    let missing = dir.path().join("missing.csv");
    let (ok, _, err) = run(&[fixture("events.jsonl"), missing.clone()]);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "importing {}, file 2 of 2 (the files before it are imported",
            missing.display()
        )),
        "{err}"
    );
    let (ok, _, err) = run(&[PathBuf::from("-"), PathBuf::from("-")]);
    assert!(!ok && err.contains("can be read once"), "{err}");
    // The rejected rows of one file at a time: told, and checked before anything runs.
    let rejects = dir.path().join("rejects.csv");
    let (ok, out, err) = run(&[fixture("costs.csv"), "--rejects".into(), rejects.clone()]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(
            "rejected rows written to {} (1), each with why in `parcours_rejected`",
            rejects.display()
        )),
        "{out}"
    );
    std::fs::remove_file(&rejects).unwrap();
    let (ok, _, err) = run(&[
        fixture("costs.csv"),
        fixture("events.jsonl"),
        "--rejects".into(),
        rejects.clone(),
    ]);
    assert!(!ok && err.contains("import the files one by one"), "{err}");
    assert!(!rejects.exists());
}

#[test]
fn ad_costs_are_detected_validated_and_upserted() {
    let (_dir, store, ws) = open();
    let check = parcours::import::check_file(
        None,
        &fixture("costs.csv"),
        &Mapping::default(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!((check.rows, check.valid), (4, Some(3)));
    assert!(store.costs(ws).unwrap().is_empty());
    let summary = import(&store, ws, "costs.csv");
    assert_eq!(
        lines(&summary),
        vec![(4, "invalid_value".into(), Some("cost".into()))]
    );
    assert_eq!(summary.inserted, 3);
    import(&store, ws, "costs.csv");
    let costs = store.costs(ws).unwrap();
    assert_eq!(costs.len(), 3, "re-import replaces, never duplicates");
    assert_eq!(
        (costs[0].channel.as_str(), costs[0].cost, costs[0].clicks),
        ("paid_search", 120.5, Some(400))
    );
    assert_eq!(costs[2].impressions, None);
}

#[test]
fn unknown_mapping_fields_are_refused_up_front() {
    let err = Mapping::from_args(&call_args(&["Customer=usr_id"], None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("usr_id"), "{err}");
}

#[test]
fn a_csv_without_a_timestamp_column_is_refused_with_the_fix() {
    let (dir, store, ws) = open();
    let file = dir.path().join("no_time.csv");
    std::fs::write(&file, "user_id,event\nu,E\n").unwrap();
    let err = import_file(&store, ws, &file, &Mapping::default(), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("--map COLUMN=timestamp"), "{err}");
    // Nor one without an identity, or an email to key its rows by: every row would be
    // rejected.
    std::fs::write(&file, "date,customer,event\n2024-05-01,c1,E\n").unwrap();
    let err = import_file(&store, ws, &file, &Mapping::default(), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no user_id, anonymous_id or email column")
            && err.contains("--map COLUMN=user_id"),
        "{err}"
    );
    assert_eq!(store.event_count(ws).unwrap(), 0);
}

/// A store whose web events made two people known by email: ana@example.com is u-123
/// (identified), leo@example.com the anonymous a-1.
fn open_with_web_people() -> (tempfile::TempDir, SqliteStore, i64) {
    let (dir, store, ws) = open();
    let web = dir.path().join("web.jsonl");
    std::fs::write(
        &web,
        concat!(
            r#"{"type":"identify","userId":"u-123","anonymousId":"a-9","traits":{"email":"Ana@Example.com"},"timestamp":"2024-05-01T09:00:00Z"}"#,
            "\n",
            r#"{"type":"page","anonymousId":"a-1","name":"Pricing","traits":{"email":"leo@example.com"},"timestamp":"2024-05-01T09:00:00Z"}"#,
            "\n",
        ),
    )
    .unwrap();
    import_file(&store, ws, &web, &Mapping::default(), &Options::default()).unwrap();
    (dir, store, ws)
}

/// A file whose rows name people by their email alone (a shop's sales, a help desk's
/// tickets): a known email's rows join its person's journey, an unknown one is recorded
/// under the email as userId, a row without one is rejected.
#[test]
fn rows_keyed_by_email_join_the_journey_of_the_email_s_person() {
    let (dir, store, ws) = open_with_web_people();
    let sales = dir.path().join("sales.csv");
    std::fs::write(
        &sales,
        "date,email,amount\n2024-05-03,ana@example.com,20\n2024-05-04, LEO@example.com ,5\n2024-05-05,zoe@example.com,7\n2024-05-06,,9\n",
    )
    .unwrap();
    let mapping = Mapping {
        constants: [("event".to_string(), "Order Completed".to_string())].into(),
        ..Mapping::default()
    };
    // A dry run already tells who is who.
    let check =
        parcours::import::check_file(Some((&store, ws)), &sales, &mapping, &Options::default())
            .unwrap();
    let actors: Vec<_> = (check.examples.iter())
        .map(|e| (e.user_id.clone(), e.anonymous_id.clone()))
        .collect();
    assert_eq!(
        actors,
        [
            (Some("u-123"), None),
            (None, Some("a-1")),
            (Some("zoe@example.com"), None)
        ]
        .map(|(u, a)| (u.map(String::from), a.map(String::from)))
    );
    let matched = |s: &Summary| s.by_email.map(|b| (b.known, b.new));
    assert_eq!(matched(&check), Some((2, 1)));
    let summary = import_file(&store, ws, &sales, &mapping, &Options::default()).unwrap();
    assert_eq!(summary.inserted, 3, "{:?}", summary.rejected);
    assert_eq!(matched(&summary), Some((2, 1)));
    assert_eq!(
        lines(&summary),
        vec![(5, "missing_field".into(), Some("userId".into()))]
    );
    let journey = |who: &str| -> Vec<String> {
        let person = store.resolve(ws, who).unwrap().unwrap();
        (store.person_events(ws, person).unwrap().into_iter())
            .map(|e| e.event.name)
            .collect()
    };
    assert_eq!(journey("u-123"), ["$identify", "Order Completed"]);
    assert_eq!(journey("a-1"), ["Pricing", "Order Completed"]);
    assert_eq!(journey("zoe@example.com"), ["Order Completed"]);
    // Again: nothing added, whoever the emails now belong to.
    let again = import_file(&store, ws, &sales, &mapping, &Options::default()).unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 3));
    // zoe@example.com is known now.
    assert_eq!(matched(&again), Some((3, 0)));
    // Files with ids say nothing of emails.
    assert_eq!(matched(&import(&store, ws, "events.jsonl")), None);
}

/// JSON Lines whose lines name people by their email alone (a help desk's tickets
/// exported as JSON): read as a CSV file's rows keyed by email, line by line — a line
/// with a userId or an anonymousId keeps it, whatever email it also carries.
#[test]
fn json_lines_keyed_by_email_join_the_journey_of_the_email_s_person() {
    let (dir, store, ws) = open_with_web_people();
    let tickets = dir.path().join("tickets.jsonl");
    std::fs::write(
        &tickets,
        concat!(
            // A top-level email, as help desks export it.
            r#"{"event":"Ticket Opened","email":" ANA@example.com","timestamp":"2024-05-03T10:00:00Z"}"#,
            "\n",
            // Segment's places for it.
            r#"{"event":"Ticket Opened","context":{"traits":{"email":"leo@example.com"}},"timestamp":"2024-05-04T10:00:00Z"}"#,
            "\n",
            r#"{"event":"Ticket Opened","traits":{"email":"zoe@example.com"},"userId":null,"anonymousId":" ","timestamp":"2024-05-05T10:00:00Z"}"#,
            "\n",
            // No id, no email.
            r#"{"event":"Ticket Opened","email":"not an email","timestamp":"2024-05-06T10:00:00Z"}"#,
            "\n",
            // Ids win over the email, a number as much as a string.
            r#"{"event":"Ticket Opened","userId":"u-7","email":"ana@example.com","timestamp":"2024-05-07T10:00:00Z"}"#,
            "\n",
            r#"{"event":"Ticket Opened","userId":42,"traits":{"email":"ana@example.com"},"timestamp":"2024-05-08T10:00:00Z"}"#,
            "\n",
        ),
    )
    .unwrap();
    let matched = |s: &Summary| s.by_email.map(|b| (b.known, b.new));
    let check = parcours::import::check_file(
        Some((&store, ws)),
        &tickets,
        &Mapping::default(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(matched(&check), Some((2, 1)));
    let run = |file: &std::path::Path| {
        import_file(&store, ws, file, &Mapping::default(), &Options::default()).unwrap()
    };
    let summary = run(&tickets);
    assert_eq!(summary.inserted, 5, "{:?}", summary.rejected);
    assert_eq!(matched(&summary), Some((2, 1)));
    assert_eq!(
        lines(&summary),
        vec![(4, "missing_field".into(), Some("userId".into()))]
    );
    let journey = |who: &str| -> Vec<(String, Option<String>)> {
        let person = store.resolve(ws, who).unwrap().unwrap();
        (store.person_events(ws, person).unwrap().into_iter())
            .map(|e| (e.event.email(), e.event.name))
            .map(|(email, name)| (name, email))
            .collect()
    };
    let ticket = |email: &str| ("Ticket Opened".to_string(), Some(email.to_string()));
    // The top-level email is kept where a CSV file's email column puts it.
    assert_eq!(
        journey("u-123"),
        [
            ("$identify".to_string(), Some("ana@example.com".to_string())),
            ticket("ana@example.com")
        ]
    );
    assert_eq!(journey("a-1")[1], ticket("leo@example.com"));
    assert_eq!(journey("zoe@example.com"), [ticket("zoe@example.com")]);
    assert_eq!(journey("u-7").len(), 1);
    assert_eq!(journey("42").len(), 1);
    // Again: nothing added; zoe@example.com is known now.
    let again = run(&tickets);
    assert_eq!((again.inserted, again.duplicates), (0, 5));
    assert_eq!(matched(&again), Some((3, 0)));
    // A file whose first lines all have ids is not read by email: a line keyed by email
    // alone past them is rejected, saying why.
    let late = dir.path().join("late.jsonl");
    let mut text = String::new();
    for i in 0..12_000 {
        text.push_str(&format!(
            "{{\"event\":\"Viewed\",\"userId\":\"u-{i}\",\"timestamp\":\"2024-05-01T09:00:00Z\",\"properties\":{{\"n\":{i}}}}}\n"
        ));
    }
    assert!(text.len() > 1 << 20);
    text.push_str(
        r#"{"event":"Ticket Opened","email":"ana@example.com","timestamp":"2024-05-09T10:00:00Z"}"#,
    );
    std::fs::write(&late, text).unwrap();
    let summary = run(&late);
    assert_eq!((summary.inserted, matched(&summary)), (12_000, None));
    assert_eq!(
        lines(&summary),
        vec![(12_001, "missing_field".into(), Some("userId".into()))]
    );
    assert!(
        summary.rejected.kept()[0].message.contains("first lines"),
        "{}",
        summary.rejected.kept()[0].message
    );
}

#[test]
fn large_files_are_parsed_in_parallel_but_stored_and_reported_in_file_order() {
    // 40,000 rows: eight batches, parsed by several threads. Every 1,000th row is bad.
    // The events must be stored in file order (identity stitching follows that order)
    // and the rejected rows reported by line. The first batch carries long texts, so
    // that it is parsed last.
    let mut text = String::from("type,event,userId,anonymousId,timestamp,row,note\n");
    let long = "x".repeat(6000);
    for i in 0..40_000u32 {
        let time = if i % 1000 == 999 {
            "not a time".to_string()
        } else {
            format!("2024-03-01T00:00:{:02}Z", i % 60)
        };
        let note = if i < 5000 { long.as_str() } else { "" };
        text.push_str(&format!("track,Visit,u{},,{time},{i},{note}\n", i % 97));
    }
    let (_d, store, ws, summary) = import_csv(text);
    assert_eq!(summary.rows, 40_000);
    let bad: Vec<u64> = summary.rejected.kept().iter().map(|r| r.line).collect();
    let expected: Vec<u64> = (0..40_000u64)
        .filter(|i| i % 1000 == 999)
        .map(|i| i + 2)
        .collect();
    assert_eq!(bad, expected, "rejected rows by line, in order");
    assert!((summary.rejected.kept().iter()).all(|r| r.code == "invalid_timestamp"));
    assert_eq!(summary.inserted, 40_000 - 40);
    let rows = stored(&store, ws, |e| {
        e.properties
            .get("row")
            .and_then(|v| v.as_u64())
            .unwrap_or_else(|| panic!("{e:?}"))
    });
    let kept: Vec<u64> = (0..40_000u64).filter(|i| i % 1000 != 999).collect();
    assert_eq!(rows, kept, "stored in file order");
    // Rows without a message id get `imp-`, the time in hex microseconds, and 96 bits of
    // the SHA-256 of the cells joined by U+001F: stable across versions, or re-imports
    // of older files would not be recognised.
    let first = stored(&store, ws, |e| e.message_id).into_iter().next();
    let cells = [
        "track",
        "Visit",
        "u0",
        "",
        "2024-03-01T00:00:00Z",
        "0",
        &long,
    ];
    let digest = <sha2::Sha256 as sha2::Digest>::digest(cells.join("\u{1f}").as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        first.unwrap(),
        format!("imp-{:014x}-{hex}", 1_709_251_200_000_000i64)
    );
}

#[test]
fn json_cells_and_the_columns_that_add_to_them_are_stored_together() {
    // A JSON cell is stored as its own text while nothing adds to its object (row 2);
    // a property column (`plan`), a utm or an email column that adds to it must not be
    // lost to the cell's text (row 1).
    let (_d, store, ws, summary) = import_csv(concat!(
        "type,event,user_id,timestamp,properties,plan,context,utm_source,traits,email\n",
        r#"track,Signed Up,u1,2024-03-01T10:00:00Z,"{ ""b"": 2, ""a"": 1 }",pro,"{""page"":{""path"":""/x""}}",news,"{""x"":1}",A@B.example"#,
        "\n",
        r#"track,Signed Up,u2,2024-03-01T11:00:00Z,"{ ""b"": 2, ""a"": 1 }",,"{""page"":{""path"":""/x""}}",,"{""x"":1}","#,
        "\n",
    ));
    assert_eq!((summary.inserted, summary.rejected.rows()), (2, 0));
    assert_eq!(
        stored(&store, ws, |ev| serde_json::json!({
            "properties": ev.properties, "context": ev.context, "traits": ev.traits,
            "source": ev.touch.campaign.source,
        })),
        vec![
            serde_json::json!({
                "properties": {"a": 1, "b": 2, "plan": "pro"},
                "context": {"page": {"path": "/x"}, "campaign": {"source": "news"},
                            "traits": {"email": "A@B.example"}},
                "traits": {"x": 1, "email": "A@B.example"},
                "source": "news",
            }),
            serde_json::json!({
                "properties": {"a": 1, "b": 2},
                "context": {"page": {"path": "/x"}},
                "traits": {"x": 1},
                "source": null,
            }),
        ]
    );
}

#[test]
fn columns_before_a_json_cell_add_to_its_object_and_the_cell_wins_a_conflict() {
    // `group_id` and `plan` come before the cells they add to (`context.groupId`,
    // `properties.plan`); the cell's own `plan` is kept.
    let (_d, store, ws, summary) = import_csv(concat!(
        "type,event,user_id,group_id,plan,timestamp,properties,context\n",
        r#"track,Signed Up,u1,acme,pro,2024-03-01T10:00:00Z,"{""a"": 1, ""plan"": ""own""}","{""page"":{""path"":""/x""}}""#,
        "\n",
        r#"track,Signed Up,u2,acme,pro,2024-03-01T11:00:00Z,"{""a"": 2}","#,
        "\n",
    ));
    assert_eq!((summary.inserted, summary.rejected.rows()), (2, 0));
    assert_eq!(
        stored(&store, ws, |ev| serde_json::json!({
            "properties": ev.properties, "context": ev.context, "group": ev.group_id,
        })),
        vec![
            serde_json::json!({
                "properties": {"a": 1, "plan": "own"},
                "context": {"page": {"path": "/x"}, "groupId": "acme"},
                "group": "acme",
            }),
            serde_json::json!({
                "properties": {"a": 2, "plan": "pro"},
                "context": {"groupId": "acme"},
                "group": "acme",
            }),
        ]
    );
}

#[test]
fn traits_cells_kept_as_text_are_applied_key_by_key_with_their_times() {
    // The first identify's traits are stored as their text; their keys (`plan` written
    // with an escape, `seats` given twice: the last wins) still each get the event's
    // time, so that an older identify read later does not replace them and a newer one
    // does.
    let (_d, store, ws, summary) = import_csv(concat!(
        "type,user_id,timestamp,traits\n",
        r#"identify,u1,2024-03-10T00:00:00Z,"{""pl\u0061n"": ""pro"", ""seats"": 1, ""seats"": 2}""#,
        "\n",
        r#"identify,u1,2024-03-01T00:00:00Z,"{""plan"": ""old"", ""seats"": 1}""#,
        "\n",
        r#"identify,u1,2024-03-20T00:00:00Z,"{""seats"": 3}""#,
        "\n",
    ));
    assert_eq!((summary.inserted, summary.rejected.rows()), (3, 0));
    assert_eq!(
        traits_of(&store, ws, "u1"),
        serde_json::json!({"plan": "pro", "seats": 3})
    );
    let person = store.resolve(ws, "u1").unwrap().unwrap();
    let record = store.person(ws, person).unwrap().unwrap();
    let history: Vec<(String, serde_json::Value)> = record
        .trait_history
        .into_iter()
        .map(|c| (c.key, c.value))
        .collect();
    assert_eq!(
        history,
        vec![
            ("plan".into(), serde_json::json!("old")),
            ("plan".into(), serde_json::json!("pro")),
            ("seats".into(), serde_json::json!(1)),
            ("seats".into(), serde_json::json!(2)),
            ("seats".into(), serde_json::json!(3)),
        ]
    );
}

#[test]
fn an_identify_cell_of_context_traits_adds_to_its_traits() {
    // RudderStack's place for traits, in a context cell kept as text; the root wins.
    let (_d, store, ws, summary) = import_csv(concat!(
        "type,user_id,timestamp,traits,context\n",
        r#"identify,u2,2024-03-10T00:00:00Z,"{""seats"": 1}","{""traits"": {""plan"": ""ctx"", ""seats"": 9}}""#,
        "\n",
        r#"identify,u3,2024-03-10T00:00:00Z,"{""seats"": 2}","{""page"": {""path"": ""/traits""}}""#,
        "\n",
    ));
    assert_eq!((summary.inserted, summary.rejected.rows()), (2, 0));
    assert_eq!(
        traits_of(&store, ws, "u2"),
        serde_json::json!({"plan": "ctx", "seats": 1})
    );
    assert_eq!(traits_of(&store, ws, "u3"), serde_json::json!({"seats": 2}));
}

#[test]
fn headers_naming_a_field_path_map_to_it_as_written() {
    // Flattened JSON exports name their columns by path; the path is kept, not nested
    // under `properties.` again. Other headers still become properties.
    let (_d, store, ws, summary) = import_csv(
        concat!(
            "event,user_id,timestamp,properties.plan,context.campaign.source,context.campaign.medium,traits.company,Seats\n",
            "Trial Started,u1,2024-03-01T10:00:00Z,pro,google,cpc,Acme,12\n",
        ),
    );
    assert_eq!((summary.inserted, summary.rejected.rows()), (1, 0));
    let events = stored(&store, ws, |ev| ev);
    let ev = &events[0];
    assert_eq!(
        serde_json::json!({"properties": ev.properties, "context": ev.context, "traits": ev.traits}),
        serde_json::json!({
            "properties": {"plan": "pro", "Seats": 12},
            "context": {"campaign": {"source": "google", "medium": "cpc"}},
            "traits": {"company": "Acme"},
        })
    );
    assert_eq!(ev.touch.channel, "paid_search");
}

#[test]
fn export_prints_the_stored_events_as_json_lines_within_the_time_bounds() {
    let (dir, store, ws) = open();
    import(&store, ws, "events.jsonl");
    let mut stored = Vec::new();
    store.scan_events(ws, 0, &mut |e| stored.push(e)).unwrap();
    store.close();
    drop(store);
    let data = dir.path().to_str().unwrap();
    let export = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["export", "--workspace", "w", "--data-dir", data];
        args.extend_from_slice(extra);
        let (ok, stdout, stderr) = crate::journey::parcours(&args);
        assert!(ok, "{stderr}");
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = export(&[]);
    assert!(!all.is_empty());
    assert_eq!(
        all,
        stored
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect::<Vec<_>>()
    );
    // --from inclusive, --to exclusive, on the event time.
    let mut times: Vec<i64> = stored.iter().map(|e| e.event.timestamp).collect();
    times.sort();
    let cut = parcours_core::time::format_rfc3339(times[times.len() / 2]);
    let (before, after) = (export(&["--to", &cut]), export(&["--from", &cut]));
    assert_eq!(before.len() + after.len(), all.len());
    assert!(!after.is_empty() && !before.is_empty());
    let (ok, _, stderr) = crate::journey::parcours(&[
        "export",
        "--workspace",
        "w",
        "--data-dir",
        data,
        "--from",
        "yesterday",
    ]);
    assert!(!ok && stderr.contains("--from `yesterday`"), "{stderr}");
}

#[test]
fn unreadable_csv_rows_are_rejected_by_the_line_they_start_on_and_the_others_kept() {
    // A spreadsheet's export: byte order mark, `\r\n`, a quoted cell over two lines, a
    // blank line, a row one cell short, and a row that is not UTF-8 (Latin-1 `é`).
    let mut text = b"\xef\xbb\xbfuser_id,event,timestamp,properties.note\r\n".to_vec();
    text.extend(b"u1,Signed Up,2024-03-01T10:00:00Z,\"two\r\nlines\"\r\n");
    text.extend(b"\r\n");
    text.extend(b"u2,Signed Up,2024-03-01T10:00:00Z\r\n");
    text.extend(b"u3,Sign\xe9 Up,2024-03-01T10:00:00Z,x\r\n");
    text.extend(b"u4,Signed Up,2024-03-01T10:00:00Z,y\r\n");
    let (_d, store, ws, summary) = import_csv(text);
    assert_eq!(
        lines(&summary),
        [
            (5, "malformed_csv".into(), None),
            (6, "malformed_csv".into(), None)
        ]
    );
    assert_eq!(
        summary.rejected.kept()[0].message,
        "the row has 3 cells where the header has 4"
    );
    assert!(summary.rejected.kept()[1].message.contains("not UTF-8"));
    assert_eq!((summary.rows, summary.inserted), (4, 2));
    // The first column was named despite the byte order mark.
    assert_eq!(
        stored(&store, ws, |e| (
            e.user_id.clone().unwrap(),
            e.properties.get("note").cloned()
        )),
        [
            ("u1".to_string(), Some(serde_json::json!("two\r\nlines"))),
            ("u4".to_string(), Some(serde_json::json!("y")))
        ]
    );
}

/// One sale as a reference export writes it (RFC 3339 in UTC, a decimal point, UTF-8) and
/// as a French spreadsheet does (local time in Paris, day first, a decimal comma with
/// grouped thousands, semicolons, Windows-1252).
#[derive(Debug, Clone)]
struct Sale {
    user: u32,
    /// Seconds since the epoch.
    at: i64,
    cents: i64,
    store: &'static str,
}

const STORES: [&str; 4] = ["Liège", "Orléans", "Besançon", "Saint-Étienne — Cœur"];

fn reference_csv(sales: &[Sale]) -> String {
    let mut csv = String::from("timestamp,user_id,event,revenue,store\n");
    for s in sales {
        let at = jiff::Timestamp::from_second(s.at).unwrap();
        csv += &format!(
            "{at},u{},Order Completed,{}.{:02},{}\n",
            s.user,
            s.cents / 100,
            s.cents % 100,
            s.store
        );
    }
    csv
}

fn french_csv(sales: &[Sale]) -> Vec<u8> {
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let mut csv = String::from("Horodatage;Numéro client;Événement;Montant TTC;Magasin\n");
    for s in sales {
        let local = jiff::Timestamp::from_second(s.at)
            .unwrap()
            .to_zoned(paris.clone());
        let whole = (s.cents / 100).to_string();
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push('\u{a0}');
            }
            grouped.push(digit);
        }
        csv += &format!(
            "{};u{};Order Completed;{grouped},{:02};{}\n",
            local.strftime("%d/%m/%Y %H:%M:%S"),
            s.user,
            s.cents % 100,
            s.store
        );
    }
    csv.chars()
        .map(|c| match c {
            '—' => 0x97,
            'Œ' => 0x8c,
            'œ' => 0x9c,
            c => u8::try_from(u32::from(c)).expect("Windows-1252"),
        })
        .collect()
}

/// What a store holds of imported sales: time, user, revenue, store, in order.
fn sales_of(
    file: &std::path::Path,
    options: &Options,
) -> Vec<(i64, Option<String>, Option<f64>, String)> {
    let (_dir, store, ws) = open();
    let mapping = Mapping {
        columns: [("Magasin".to_string(), "properties.store".to_string())].into(),
        ..Mapping::default()
    };
    let summary = import_file(&store, ws, file, &mapping, options).unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    stored(&store, ws, |e| {
        (
            e.timestamp,
            e.user_id,
            e.touch.revenue,
            e.properties["store"].as_str().unwrap_or("").to_string(),
        )
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    /// The French export of sales imports, with its locale's options, as the reference
    /// export of the same sales does: the same times (summer time included), revenue and
    /// accents.
    #[test]
    fn a_french_export_imports_as_its_reference_export(
        sales in proptest::collection::vec(
            proptest::strategy::Strategy::prop_map(
                (0u32..5, 1_704_067_200i64..1_790_000_000, 0i64..100_000_000_000, 0usize..4),
                |(user, at, cents, store)| Sale { user, at, cents, store: STORES[store] },
            ),
            1..20,
        )
    ) {
        use proptest::prelude::*;
        // From 2024 to September 2026: in the past (a time to come is clamped to the
        // import's own), across five changes of summer time. Not the second of a repeated
        // local hour (the end of summer time), which local time cannot tell from the first.
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        for s in &sales {
            let local = jiff::Timestamp::from_second(s.at).unwrap().to_zoned(paris.clone());
            let back = local.datetime().to_zoned(paris.clone()).unwrap().timestamp();
            prop_assume!(back.as_second() == s.at);
        }
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("reference.csv");
        std::fs::write(&reference, reference_csv(&sales)).unwrap();
        let french = dir.path().join("ventes.csv");
        std::fs::write(&french, french_csv(&sales)).unwrap();
        let locale = Options {
            encoding: parcours::encoding::Encoding::Windows1252,
            ..in_locale("Europe/Paris", Some("dmy"))
        };
        let expected = sales_of(&reference, &Options::default());
        prop_assert_eq!(expected.len(), sales.len());
        prop_assert_eq!(sales_of(&french, &locale), expected);
    }
}

/// JSON Lines: a line holding a `/v1/batch` envelope is refused as such (it used to be
/// told it lacked a timestamp); a line whose userId is a placeholder (`NULL`) and whose
/// traits hold an email is keyed by that email, as a line without ids is.
#[test]
fn json_lines_refuse_batch_envelopes_and_key_placeholder_ids_by_email() {
    let (dir, store, ws) = open();
    let file = dir.path().join("lines.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"batch": [{"type": "track", "event": "A", "userId": "x1", "timestamp": "2024-01-01T00:00:00Z"}]}"#,
            "\n",
            r#"{"type": "identify", "userId": "NULL", "traits": {"email": "Kim@Example.com"}, "timestamp": "2024-01-01T00:00:00Z"}"#,
            "\n",
            r#"{"type": "track", "event": "B", "userId": "undefined", "anonymousId": "null", "timestamp": "2024-01-01T00:00:00Z"}"#,
            "\n",
        ),
    )
    .unwrap();
    let summary = import_file(&store, ws, &file, &Mapping::default(), &Options::default()).unwrap();
    assert_eq!(summary.inserted, 1, "{:?}", summary.rejected);
    assert_eq!(
        lines(&summary),
        vec![
            (1, "invalid_type".into(), Some("batch".into())),
            (3, "invalid_value".into(), Some("userId".into())),
        ]
    );
    let kim = store.resolve(ws, "kim@example.com").unwrap().unwrap();
    let events = store.person_events(ws, kim).unwrap();
    assert_eq!(events[0].event.user_id.as_deref(), Some("kim@example.com"));
    assert_eq!(store.resolve(ws, "NULL").unwrap(), None);
}

/// Ad costs cut short (a download interrupted): the days read before are stored, and the
/// error says how many and that importing the file again replaces them.
#[test]
fn ad_costs_read_before_a_file_fails_are_stored() {
    use std::io::Write;
    let mut csv = String::from("day,campaign,cost,channel\n");
    for i in 0..200_000u64 {
        let noise = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % 100_000;
        csv += &format!(
            "2024-{:02}-{:02},camp-{},{}.{:02},cpc\n",
            1 + i % 12,
            1 + i % 28,
            i,
            noise / 100,
            noise % 100
        );
    }
    let (dir, store, ws) = open();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(csv.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let path = dir.path().join("costs.csv.gz");
    std::fs::write(&path, &bytes[..bytes.len() * 3 / 4]).unwrap();
    let err = import_file(&store, ws, &path, &Mapping::default(), &Options::default())
        .expect_err("a file cut short");
    let message = format!("{err:#}");
    let stored = store.costs(ws).unwrap().len();
    assert!(stored > 5_000 && stored < 200_000, "{stored}: {message}");
    assert!(
        message.contains(&format!("the {stored} rows stored before are kept")),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
}

/// Two columns that give one field (`Customer ID` and `Contact ID` both name the userId)
/// refuse the file, naming both, rather than keep one cell of each row and drop the
/// other; mapping one elsewhere, or to `ignore`, imports it.
#[test]
fn two_columns_of_one_field_are_refused_by_name() {
    let (dir, store, ws) = open();
    let file = dir.path().join("crm.csv");
    std::fs::write(
        &file,
        "Customer ID,Contact ID,Created At,Email\nc-1,k-1,2024-05-01T10:00:00Z,a@example.com\n",
    )
    .unwrap();
    let err = import_file(&store, ws, &file, &Mapping::default(), &Options::default()).unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains(r#"columns "Customer ID" and "Contact ID" both give `user_id`"#),
        "{message}"
    );
    assert_eq!(store.event_count(ws).unwrap(), 0);
    let mapping = Mapping {
        columns: [("Contact ID".to_string(), "traits.contact_id".to_string())].into(),
        ..Mapping::default()
    };
    let summary = import_file(&store, ws, &file, &mapping, &Options::default()).unwrap();
    assert_eq!(summary.inserted, 1, "{:?}", summary.rejected);
    let person = store.resolve(ws, "c-1").unwrap().unwrap();
    let traits = store.person(ws, person).unwrap().unwrap().traits;
    assert_eq!(traits["contact_id"], "k-1");
}
