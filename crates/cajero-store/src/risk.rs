//! Risk rules, totals, blocklists, decisions and held pay-ins (migration 0028). Rows only; the
//! rules are `cajero_domain::risk` and the service is the server's `risk` module.

use sqlx::AssertSqlSafe;

use crate::{Conn, StoreError, execute, fetch};

/// A version of the rule set.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct RuleVersionRow {
    /// 1, 2, …
    pub version: i64,
    /// The canonical JSON document.
    pub rules: String,
    /// What changed from the previous version, one line per rule.
    pub diff: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub created_by: String,
    /// When (µs).
    pub created_at: i64,
}

const RULE_COLUMNS: &str = "version, rules, diff, reason, created_by, created_at";

/// The rule set in force (the newest version), if any was ever set.
pub async fn current_rules(conn: &mut Conn<'_>) -> Result<Option<RuleVersionRow>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        RuleVersionRow,
        AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM risk_rule_versions ORDER BY version DESC LIMIT 1"
        )),
    )?)
}

/// The newest `limit` versions, newest first.
pub async fn rule_versions(
    conn: &mut Conn<'_>,
    limit: i64,
) -> Result<Vec<RuleVersionRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        RuleVersionRow,
        AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM risk_rule_versions ORDER BY version DESC LIMIT $1"
        )),
        limit,
    )?)
}

/// Stores a version. Its number must be the next one: a concurrent change that took it makes
/// this fail on the primary key, and the caller retries on the new version.
pub async fn insert_rule_version(
    conn: &mut Conn<'_>,
    row: &RuleVersionRow,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO risk_rule_versions (version, rules, diff, reason, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        row.version,
        &row.rules,
        &row.diff,
        &row.reason,
        &row.created_by,
        row.created_at,
    )?;
    Ok(())
}

/// The calendar total of `scope` over `span` (`d:2026-11-30`, `m:2026-11-01`): (count,
/// amount), zero when nothing was counted.
pub async fn total(conn: &mut Conn<'_>, scope: &str, span: &str) -> Result<(i64, i64), StoreError> {
    Ok(fetch!(
        optional,
        conn,
        (i64, i64),
        "SELECT count, amount FROM risk_totals WHERE scope = $1 AND span = $2",
        scope,
        span,
    )?
    .unwrap_or((0, 0)))
}

/// Adds one operation of `amount` to a calendar total.
pub async fn add_total(
    conn: &mut Conn<'_>,
    scope: &str,
    span: &str,
    amount: i64,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO risk_totals (scope, span, count, amount) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (scope, span) DO UPDATE SET count = risk_totals.count + 1, \
         amount = risk_totals.amount + excluded.amount",
        scope,
        span,
        amount,
    )?;
    Ok(())
}

/// Takes one operation of `amount` back from a calendar total (an operation counted that the
/// network then did not create).
pub async fn subtract_total(
    conn: &mut Conn<'_>,
    scope: &str,
    span: &str,
    amount: i64,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE risk_totals SET count = count - 1, amount = amount - $1 \
         WHERE scope = $2 AND span = $3 AND count > 0",
        amount,
        scope,
        span,
    )?;
    Ok(())
}

/// Deletes an operation's velocity row of `scope`.
pub async fn delete_velocity(
    conn: &mut Conn<'_>,
    scope: &str,
    object_id: &str,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "DELETE FROM risk_velocity WHERE scope = $1 AND object_id = $2",
        scope,
        object_id,
    )?;
    Ok(())
}

/// The operations of `scope` after `from` (µs, excluded), read from the buckets of
/// `bucket_us` wholly after it and the single rows of the bucket `from` falls in: (count,
/// amount). Exact, and bounded by the bucket count whatever the scope's traffic.
pub async fn velocity(
    conn: &mut Conn<'_>,
    scope: &str,
    from: i64,
    bucket_us: i64,
) -> Result<(i64, i64), StoreError> {
    let first_whole = from.div_euclid(bucket_us) * bucket_us + bucket_us;
    let (edge_count, edge_amount) = fetch!(
        one,
        conn,
        (i64, i64),
        "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM risk_velocity \
         WHERE scope = $1 AND at > $2 AND at < $3",
        scope,
        from,
        first_whole,
    )?;
    let (count, amount) = fetch!(
        one,
        conn,
        (i64, i64),
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT), CAST(COALESCE(SUM(amount), 0) AS BIGINT) \
         FROM risk_velocity_buckets WHERE scope = $1 AND bucket_s = $2 AND start >= $3",
        scope,
        bucket_us / 1_000_000,
        first_whole,
    )?;
    Ok((edge_count + count, edge_amount + amount))
}

/// Adds one operation of `amount` at `at` (µs) to its bucket of `bucket_us` (`sign` −1 takes
/// it back).
pub async fn add_to_bucket(
    conn: &mut Conn<'_>,
    scope: &str,
    bucket_us: i64,
    at: i64,
    amount: i64,
    sign: i64,
) -> Result<(), StoreError> {
    let start = at.div_euclid(bucket_us) * bucket_us;
    execute!(
        conn,
        "INSERT INTO risk_velocity_buckets (scope, bucket_s, start, count, amount) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, bucket_s, start) DO UPDATE SET \
         count = risk_velocity_buckets.count + excluded.count, \
         amount = risk_velocity_buckets.amount + excluded.amount",
        scope,
        bucket_us / 1_000_000,
        start,
        sign,
        sign * amount,
    )?;
    Ok(())
}

/// Records one operation for a velocity scope.
pub async fn add_velocity(
    conn: &mut Conn<'_>,
    scope: &str,
    at: i64,
    amount: i64,
    object_id: &str,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO risk_velocity (scope, at, amount, object_id) VALUES ($1, $2, $3, $4)",
        scope,
        at,
        amount,
        object_id,
    )?;
    Ok(())
}

/// Deletes velocity rows at or before `before` (µs) and calendar totals of spans before
/// `day_before` / `month_before` (`d:…` and `m:…` dates sort by date), at most `limit` of each;
/// how many rows went.
pub async fn purge(
    conn: &mut Conn<'_>,
    before: i64,
    day_before: &str,
    month_before: &str,
    limit: i64,
) -> Result<u64, StoreError> {
    let velocity = execute!(
        conn,
        "DELETE FROM risk_velocity WHERE (scope, at) IN \
         (SELECT scope, at FROM risk_velocity WHERE at <= $1 ORDER BY at LIMIT $2)",
        before,
        limit,
    )?;
    // A bucket starting a whole window before `before` ends before it too (buckets are at most
    // a sixtieth of the longest window).
    let buckets = execute!(
        conn,
        "DELETE FROM risk_velocity_buckets WHERE (scope, bucket_s, start) IN \
         (SELECT scope, bucket_s, start FROM risk_velocity_buckets WHERE start + bucket_s * 1000000 <= $1 \
         ORDER BY start LIMIT $2)",
        before,
        limit,
    )?;
    let days = execute!(
        conn,
        "DELETE FROM risk_totals WHERE (scope, span) IN (SELECT scope, span FROM risk_totals \
         WHERE span LIKE 'd:%' AND span < $1 LIMIT $2)",
        day_before,
        limit,
    )?;
    let months = execute!(
        conn,
        "DELETE FROM risk_totals WHERE (scope, span) IN (SELECT scope, span FROM risk_totals \
         WHERE span LIKE 'm:%' AND span < $1 LIMIT $2)",
        month_before,
        limit,
    )?;
    Ok(velocity + buckets + days + months)
}

/// A blocklist entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct BlockRow {
    /// `rbl_…`.
    pub id: String,
    /// The merchant whose list it is on; `None`: the operator's, for every merchant.
    pub merchant_id: Option<String>,
    /// `document`, `name` or `phone`.
    pub kind: String,
    /// The compared form.
    pub value: String,
    /// Why it was added.
    pub reason: String,
    /// Who added it.
    pub created_by: String,
    /// µs.
    pub created_at: i64,
    /// Who removed it.
    pub removed_by: Option<String>,
    /// µs.
    pub removed_at: Option<i64>,
    /// Why it was removed.
    pub removed_reason: Option<String>,
}

const BLOCK_COLUMNS: &str = "id, merchant_id, kind, value, reason, created_by, created_at, \
                             removed_by, removed_at, removed_reason";

/// Adds an entry; `false` when the same value is already on that list (nothing written).
pub async fn insert_block(conn: &mut Conn<'_>, row: &BlockRow) -> Result<bool, StoreError> {
    let added = execute!(
        conn,
        "INSERT INTO risk_blocklist (id, merchant_id, kind, value, reason, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        &row.id,
        &row.merchant_id,
        &row.kind,
        &row.value,
        &row.reason,
        &row.created_by,
        row.created_at,
    )?;
    Ok(added == 1)
}

/// Removes an entry of `merchant`'s list (`None`: the operator's); `false` when there is no
/// such entry in force on that list.
pub async fn remove_block(
    conn: &mut Conn<'_>,
    id: &str,
    merchant: Option<&str>,
    by: &str,
    at: i64,
    reason: &str,
) -> Result<bool, StoreError> {
    let removed = execute!(
        conn,
        "UPDATE risk_blocklist SET removed_by = $1, removed_at = $2, removed_reason = $3 \
         WHERE id = $4 AND COALESCE(merchant_id, '') = $5 AND removed_at IS NULL",
        by,
        at,
        reason,
        id,
        merchant.unwrap_or(""),
    )?;
    Ok(removed == 1)
}

/// The entries of `merchant`'s list (`None`: the operator's), in force first, newest first.
pub async fn blocklist(
    conn: &mut Conn<'_>,
    merchant: Option<&str>,
    limit: i64,
) -> Result<Vec<BlockRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        BlockRow,
        AssertSqlSafe(format!(
            "SELECT {BLOCK_COLUMNS} FROM risk_blocklist WHERE COALESCE(merchant_id, '') = $1 \
             ORDER BY removed_at IS NOT NULL, id DESC LIMIT $2"
        )),
        merchant.unwrap_or(""),
        limit,
    )?)
}

/// What a risk decision reads before it judges, in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocking {
    /// The newest rule version (0: rules were never set), to check the cached rules against.
    pub newest_rules: i64,
    /// The entries in force that block what was asked about.
    pub entries: Vec<BlockRow>,
}

/// One row of [`blocking`]'s statement: the newest rule version beside a blocking entry, or
/// beside nothing when none blocks.
#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
struct BlockingRow {
    newest: i64,
    id: Option<String>,
    merchant_id: Option<String>,
    kind: Option<String>,
    value: Option<String>,
    reason: Option<String>,
    created_by: Option<String>,
    created_at: Option<i64>,
    removed_by: Option<String>,
    removed_at: Option<i64>,
    removed_reason: Option<String>,
}

impl BlockingRow {
    fn entry(self) -> Option<BlockRow> {
        Some(BlockRow {
            id: self.id?,
            merchant_id: self.merchant_id,
            kind: self.kind?,
            value: self.value?,
            reason: self.reason?,
            created_by: self.created_by?,
            created_at: self.created_at?,
            removed_by: self.removed_by,
            removed_at: self.removed_at,
            removed_reason: self.removed_reason,
        })
    }
}

/// The newest rule version, and the entries in force that block any of `wanted` (kind,
/// value) for `merchant`, the operator's and the merchant's own, in one statement: grouped in
/// the order of `wanted`, oldest first within a kind.
pub async fn blocking(
    conn: &mut Conn<'_>,
    merchant: &str,
    wanted: &[(&str, &str)],
) -> Result<Blocking, StoreError> {
    let pairs: Vec<String> = (0..wanted.len())
        .map(|i| format!("(b.kind = ${} AND b.value = ${})", 2 + 2 * i, 3 + 2 * i))
        .collect();
    let matching = if pairs.is_empty() {
        "0 = 1".to_owned()
    } else {
        pairs.join(" OR ")
    };
    let sql = format!(
        "SELECT v.newest, b.id, b.merchant_id, b.kind, b.value, b.reason, b.created_by, \
         b.created_at, b.removed_by, b.removed_at, b.removed_reason \
         FROM (SELECT COALESCE(MAX(version), 0) AS newest FROM risk_rule_versions) v \
         LEFT JOIN risk_blocklist b ON b.removed_at IS NULL \
         AND (b.merchant_id IS NULL OR b.merchant_id = $1) AND ({matching}) ORDER BY b.id"
    );
    let found: Vec<BlockingRow> = {
        let mut query = crate::sqlite::Query::new(sql).bind(merchant);
        for (kind, value) in wanted {
            query = query.bind(*kind).bind(*value);
        }
        query.fetch_all(conn).await
    }?;
    let newest_rules = found.first().map_or(0, |row| row.newest);
    let mut entries: Vec<BlockRow> = found.into_iter().filter_map(BlockingRow::entry).collect();
    // Stable: ids stay in order within each kind.
    entries.sort_by_key(|row| {
        wanted
            .iter()
            .position(|(kind, value)| row.kind == *kind && row.value == *value)
    });
    Ok(Blocking {
        newest_rules,
        entries,
    })
}

/// A decision where a check fired: it held, refused or (outcome `allow`) only alerted.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct DecisionRow {
    /// `rdc_…`.
    pub id: String,
    /// The merchant.
    pub merchant_id: String,
    /// Live or test.
    pub livemode: bool,
    /// `payin` or `payout`.
    pub flow: String,
    /// The pay-in or payout.
    pub object_id: String,
    /// `review` or `deny` (`allow` only when something fired that allows).
    pub outcome: String,
    /// JSON: the checks that fired.
    pub fired: String,
    /// JSON: what was checked.
    pub inputs: String,
    /// The rule set's version.
    pub rules_version: Option<i64>,
    /// The sanctions lists screened with.
    pub sanctions_lists: Option<String>,
    /// µs.
    pub at: i64,
}

const DECISION_COLUMNS: &str = "id, merchant_id, livemode, flow, object_id, outcome, fired, \
                                inputs, rules_version, sanctions_lists, at";

/// Stores a decision.
pub async fn insert_decision(conn: &mut Conn<'_>, row: &DecisionRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO risk_decisions (id, merchant_id, livemode, flow, object_id, outcome, fired, \
         inputs, rules_version, sanctions_lists, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &row.id,
        &row.merchant_id,
        row.livemode,
        &row.flow,
        &row.object_id,
        &row.outcome,
        &row.fired,
        &row.inputs,
        row.rules_version,
        &row.sanctions_lists,
        row.at,
    )?;
    Ok(())
}

/// A merchant's decisions in one mode, newest first, before `before` (an id) when given.
pub async fn decisions(
    conn: &mut Conn<'_>,
    merchant: &str,
    livemode: bool,
    before: Option<&str>,
    held_or_refused_only: bool,
    limit: i64,
) -> Result<Vec<DecisionRow>, StoreError> {
    // `allow` decisions (alerts) are the operator's: left out of what a merchant is shown.
    let left_out = if held_or_refused_only { "allow" } else { "" };
    Ok(fetch!(
        all,
        conn,
        DecisionRow,
        AssertSqlSafe(format!(
            "SELECT {DECISION_COLUMNS} FROM risk_decisions WHERE merchant_id = $1 \
             AND livemode = $2 AND id < $3 AND outcome <> $4 ORDER BY id DESC LIMIT $5"
        )),
        merchant,
        livemode,
        before.unwrap_or("~"),
        left_out,
        limit,
    )?)
}

/// The decisions about one object, oldest first.
pub async fn decisions_of(
    conn: &mut Conn<'_>,
    object_id: &str,
) -> Result<Vec<DecisionRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        DecisionRow,
        AssertSqlSafe(format!(
            "SELECT {DECISION_COLUMNS} FROM risk_decisions WHERE object_id = $1 ORDER BY id"
        )),
        object_id,
    )?)
}

/// A pay-in held for review.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct PayinHoldRow {
    /// `pi_…`.
    pub id: String,
    /// The merchant.
    pub merchant_id: String,
    /// Live or test.
    pub livemode: bool,
    /// `on_hold`, `released` or `refused`.
    pub status: String,
    /// JSON: the accepted request.
    pub request: String,
    /// The decision that held it.
    pub decision_id: String,
    /// µs.
    pub created_at: i64,
    /// The operator who released or refused it.
    pub decided_by: Option<String>,
    /// µs.
    pub decided_at: Option<i64>,
    /// Why.
    pub reason: Option<String>,
    /// The claim of a release under way (its start in µs, zero-padded, then a random part):
    /// the network may hold a voucher under this id, so the hold cannot be refused.
    pub releasing: Option<String>,
}

const HOLD_COLUMNS: &str = "id, merchant_id, livemode, status, request, decision_id, \
                            created_at, decided_by, decided_at, reason, releasing";

/// A release claim's token: its start, zero-padded so that tokens compare as times, and a
/// random part.
pub fn release_claim(at_us: i64, random: u64) -> String {
    format!("{at_us:020}:{random:016x}")
}

/// Claims a held pay-in for a release (compare-and-set): only while it is on hold and no
/// other release holds a claim started at `stale_before_us` or later (an older claim is
/// that of a release that died: taken over). `false` when it cannot be claimed.
pub async fn claim_payin_hold(
    conn: &mut Conn<'_>,
    id: &str,
    token: &str,
    stale_before_us: i64,
) -> Result<bool, StoreError> {
    let stale = release_claim(stale_before_us, 0);
    let claimed = execute!(
        conn,
        "UPDATE payin_holds SET releasing = $1 \
         WHERE id = $2 AND status = 'on_hold' AND (releasing IS NULL OR releasing < $3)",
        token,
        id,
        &stale,
    )?;
    Ok(claimed == 1)
}

/// Refuses a held pay-in whose release claim is `claim` (a release that died: the caller has
/// made sure the network holds no open voucher under it); `false` when anything changed.
pub async fn refuse_claimed_payin_hold(
    conn: &mut Conn<'_>,
    id: &str,
    claim: &str,
    by: &str,
    at: i64,
    reason: &str,
) -> Result<bool, StoreError> {
    let moved = execute!(
        conn,
        "UPDATE payin_holds SET status = 'refused', decided_by = $1, decided_at = $2, \
         reason = $3, releasing = NULL WHERE id = $4 AND status = 'on_hold' AND releasing = $5",
        by,
        at,
        reason,
        id,
        claim,
    )?;
    Ok(moved == 1)
}

/// Gives a release claim back (the network issued nothing): only the claim's own token.
pub async fn unclaim_payin_hold(
    conn: &mut Conn<'_>,
    id: &str,
    token: &str,
) -> Result<bool, StoreError> {
    let given = execute!(
        conn,
        "UPDATE payin_holds SET releasing = NULL \
         WHERE id = $1 AND status = 'on_hold' AND releasing = $2",
        id,
        token,
    )?;
    Ok(given == 1)
}

/// Stores a held pay-in.
pub async fn insert_payin_hold(conn: &mut Conn<'_>, row: &PayinHoldRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO payin_holds (id, merchant_id, livemode, status, request, decision_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &row.id,
        &row.merchant_id,
        row.livemode,
        &row.status,
        &row.request,
        &row.decision_id,
        row.created_at,
    )?;
    Ok(())
}

/// A held pay-in of `merchant` (any merchant's when `None`: the operator's view).
pub async fn payin_hold(
    conn: &mut Conn<'_>,
    id: &str,
    merchant: Option<&str>,
) -> Result<Option<PayinHoldRow>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        PayinHoldRow,
        AssertSqlSafe(format!(
            "SELECT {HOLD_COLUMNS} FROM payin_holds WHERE id = $1 \
             AND ($2 = '' OR merchant_id = $2)"
        )),
        id,
        merchant.unwrap_or(""),
    )?)
}

/// The pay-ins still on hold, oldest first.
pub async fn open_payin_holds(
    conn: &mut Conn<'_>,
    limit: i64,
) -> Result<Vec<PayinHoldRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        PayinHoldRow,
        AssertSqlSafe(format!(
            "SELECT {HOLD_COLUMNS} FROM payin_holds WHERE status = 'on_hold' ORDER BY id LIMIT $1"
        )),
        limit,
    )?)
}

/// Moves a held pay-in out of `on_hold` (compare-and-set): to `released` whoever claimed it,
/// to `refused` only when no release holds a claim. `false` when it did not move.
pub async fn decide_payin_hold(
    conn: &mut Conn<'_>,
    id: &str,
    status: &str,
    by: &str,
    at: i64,
    reason: &str,
) -> Result<bool, StoreError> {
    let moved = execute!(
        conn,
        "UPDATE payin_holds SET status = $1, decided_by = $2, decided_at = $3, reason = $4, \
         releasing = NULL \
         WHERE id = $5 AND status = 'on_hold' AND ($1 = 'released' OR releasing IS NULL)",
        status,
        by,
        at,
        reason,
        id,
    )?;
    Ok(moved == 1)
}
