//! `cajero analytics success`: the report of `GET /v1/analytics/success`, from the same
//! service, for an operator at the console.

use anyhow::Context as _;
use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use cajero_server::analytics::{
    self, DateRange, Durations, RANGE_DAYS_DEFAULT, SuccessQuery, SuccessReport,
};
use clap::Subcommand;
use jiff::civil::Date;

use crate::DatabaseArgs;
use crate::admin::open;
use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// How a merchant's vouchers and pick-up codes created in a range of Bogotá days ended:
    /// rates, times, per network, counter and day.
    Success {
        /// The merchant (`mer_…`).
        #[arg(long)]
        merchant: MerchantId,
        /// test or live.
        #[arg(long)]
        mode: Mode,
        /// The first Bogotá day (YYYY-MM-DD); default: 29 days before `--to`.
        #[arg(long)]
        from: Option<Date>,
        /// The last Bogotá day, included (YYYY-MM-DD); default: today in Bogotá.
        #[arg(long)]
        to: Option<Date>,
        /// One network's orders only (`efecty`, `sured`).
        #[arg(long)]
        network: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub async fn run(command: AnalyticsCommand) -> anyhow::Result<()> {
    let AnalyticsCommand::Success {
        merchant,
        mode,
        from,
        to,
        network,
        db,
    } = command;
    let network = match network.as_deref() {
        None => None,
        Some(code) => Some(
            cajero_domain::network::spec(code)
                .with_context(|| format!("no network {code:?} (efecty, sured)"))?,
        ),
    };
    let state = open(&db).await?;
    let to = to.unwrap_or_else(|| analytics::bogota_today(state.clock.now()));
    let range = match from {
        Some(from) => DateRange::new(from, to),
        None => DateRange::ending(to, RANGE_DAYS_DEFAULT),
    }?;
    let query = SuccessQuery {
        merchant,
        mode,
        range,
        network,
    };
    let report = analytics::success(&state.store, &query)
        .await
        .context("reading the orders")?;
    state.store.close().await;
    let value = serde_json::to_value(&report)?;
    print(db.json, &value, || text(&report));
    Ok(())
}

/// The report for people: the totals, then per network.
fn text(r: &SuccessReport) -> String {
    let mut out = format!(
        "{} to {} ({}), {}\n",
        r.from,
        r.to,
        if r.livemode { "live" } else { "test" },
        r.network.as_deref().unwrap_or("every network")
    );
    let mut section = |name: &str, p: &analytics::PayinFigures, o: &analytics::PayoutFigures| {
        out.push_str(&format!(
            "{name}\n  pay-ins: {} created, {} paid, {} expired, {} canceled, {} open; rate {}; \
             {} of {} COP paid; time to pay {}\n  payouts: {} created, {} collected, {} expired, \
             {} canceled, {} failed, {} open; rate {}; {} of {} COP collected; time to \
             collect {}\n",
            p.created,
            p.paid,
            p.expired,
            p.canceled,
            p.open,
            percent(p.rate_bps),
            p.paid_amount.minor(),
            p.created_amount.minor(),
            times(&p.time_to_pay),
            o.created,
            o.collected,
            o.expired,
            o.canceled,
            o.failed,
            o.open,
            percent(o.rate_bps),
            o.collected_amount.minor(),
            o.created_amount.minor(),
            times(&o.time_to_collect),
        ));
    };
    section("all networks", &r.payins, &r.payouts);
    for n in &r.by_network {
        section(&n.network, &n.payins, &n.payouts);
    }
    out.push_str(&format!(
        "{} counter(s){}",
        r.by_counter.data.len(),
        if r.by_counter.has_more {
            " (more not listed)"
        } else {
            ""
        }
    ));
    out
}

/// `66.66 %`, or `-` when nothing closed.
fn percent(bps: Option<i64>) -> String {
    bps.map_or_else(
        || "-".to_string(),
        |b| format!("{}.{:02} %", b / 100, b % 100),
    )
}

fn times(d: &Durations) -> String {
    let bound = |s: Option<i64>| s.map_or_else(|| "72 h+".to_string(), |s| format!("<{s} s"));
    match d.average_seconds {
        None => "-".to_string(),
        Some(avg) => format!(
            "avg {avg} s, p50 {}, p90 {} ({} orders)",
            bound(d.p50_seconds),
            bound(d.p90_seconds),
            d.count
        ),
    }
}
