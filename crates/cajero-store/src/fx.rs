//! The operator's table of COP per USD rates, one per Bogotá calendar day, for settling
//! cross-border merchants in USD (`cajero fx set-rate`).

use cajero_domain::ledger::settlement::CopPerUsd;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// Rates listed at most at once.
pub const RATES_LISTED_MAX: i64 = 366;

fn corrupt(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "fx_rates",
        detail: detail.to_string(),
    }
}

/// Sets (or corrects) the rate of `date`.
pub async fn set_rate(
    conn: &mut Conn<'_>,
    date: Date,
    rate: CopPerUsd,
    now: Timestamp,
) -> Result<(), StoreError> {
    let micros = i64::try_from(rate.micros()).map_err(corrupt)?;
    execute!(
        conn,
        "INSERT INTO fx_rates (rate_date, cop_per_usd_micros, created_at, updated_at) \
         VALUES ($1, $2, $3, $3) ON CONFLICT (rate_date) \
         DO UPDATE SET cop_per_usd_micros = excluded.cop_per_usd_micros, \
         updated_at = excluded.updated_at",
        date.to_string(),
        micros,
        Micros::from(now).0,
    )?;
    Ok(())
}

fn parse(micros: i64) -> Result<CopPerUsd, StoreError> {
    let micros = u64::try_from(micros).map_err(corrupt)?;
    CopPerUsd::from_micros(micros).map_err(corrupt)
}

/// The rate of `date`, if the operator set one.
pub async fn rate_on(conn: &mut Conn<'_>, date: Date) -> Result<Option<CopPerUsd>, StoreError> {
    let row = fetch!(
        optional,
        conn,
        (i64,),
        "SELECT cop_per_usd_micros FROM fx_rates WHERE rate_date = $1",
        date.to_string()
    )?;
    row.map(|(m,)| parse(m)).transpose()
}

/// The latest rates, newest day first (at most [`RATES_LISTED_MAX`]).
pub async fn list_rates(conn: &mut Conn<'_>) -> Result<Vec<(Date, CopPerUsd)>, StoreError> {
    let rows = fetch!(
        all,
        conn,
        (String, i64),
        "SELECT rate_date, cop_per_usd_micros FROM fx_rates ORDER BY rate_date DESC LIMIT $1",
        RATES_LISTED_MAX
    )?;
    rows.into_iter()
        .map(|(d, m)| Ok((d.parse::<Date>().map_err(corrupt)?, parse(m)?)))
        .collect()
}
