//! Fee plans: what a merchant pays per operation, and the taxes on it.
//!
//! A rule charges `rate × amount + fixed`, at least `minimum`, where the rate and fixed part
//! come from the highest volume tier the merchant's month has reached *before* this operation.
//! IVA (19 %) is charged on the fee; GMF (0.4 %) on the payout amount where the plan says so.
//! Every percentage is rounded half up to the currency's unit (see [`crate::money`]), each
//! part on its own: fee, then IVA on the rounded fee, then GMF.

use serde::{Deserialize, Serialize};

use crate::money::{Amount, BasisPoints, MoneyError};

/// Volume tiers a rule may have at most.
pub const FEE_TIERS_MAX: usize = 16;

/// A rate and fixed part that apply from a monthly volume on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The tier applies once the month's volume (before this operation) reaches this.
    pub monthly_volume_from: Amount,
    /// Percentage part.
    pub rate: BasisPoints,
    /// Fixed part.
    pub fixed: Amount,
}

/// How one kind of operation is charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeRule {
    /// Tiers by ascending `monthly_volume_from`; the first starts at zero.
    pub tiers: Vec<Tier>,
    /// The least fee charged (before IVA).
    pub minimum: Amount,
}

/// A merchant's fee plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeePlan {
    /// Charged on a paid pay-in.
    pub payin: FeeRule,
    /// Charged on a payout when its code is issued (reserved with it).
    pub payout: FeeRule,
    /// Whether GMF (4×1000) is withheld on payouts.
    pub gmf_on_payouts: bool,
}

/// What an operation costs the merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FeeBreakdown {
    /// cajero's fee.
    pub fee: Amount,
    /// IVA on the fee.
    pub iva: Amount,
    /// GMF on the amount.
    pub gmf: Amount,
}

impl FeeBreakdown {
    /// fee + IVA + GMF.
    pub fn total(&self) -> Result<Amount, MoneyError> {
        Amount::checked_sum([self.fee, self.iva, self.gmf])
    }
}

/// A fee rule that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeRuleError {
    /// No tier at all.
    #[error("a fee rule needs at least one tier")]
    NoTiers,
    /// More than [`FEE_TIERS_MAX`].
    #[error("a fee rule has at most {FEE_TIERS_MAX} tiers")]
    TooManyTiers,
    /// The first tier must start at zero volume.
    #[error("the first tier must start at a monthly volume of 0")]
    FirstTierNotAtZero,
    /// Tiers out of order.
    #[error("tiers must be in strictly ascending order of monthly_volume_from")]
    TiersNotAscending,
}

impl FeeRule {
    /// A single-tier rule.
    pub fn flat(rate: BasisPoints, fixed: Amount, minimum: Amount) -> FeeRule {
        FeeRule {
            tiers: vec![Tier {
                monthly_volume_from: Amount::ZERO,
                rate,
                fixed,
            }],
            minimum,
        }
    }

    /// No fee.
    pub fn free() -> FeeRule {
        FeeRule::flat(BasisPoints::default(), Amount::ZERO, Amount::ZERO)
    }

    /// Checks the tiers.
    pub fn validate(&self) -> Result<(), FeeRuleError> {
        let first = self.tiers.first().ok_or(FeeRuleError::NoTiers)?;
        if self.tiers.len() > FEE_TIERS_MAX {
            return Err(FeeRuleError::TooManyTiers);
        }
        if !first.monthly_volume_from.is_zero() {
            return Err(FeeRuleError::FirstTierNotAtZero);
        }
        if self
            .tiers
            .windows(2)
            .any(|w| w[0].monthly_volume_from >= w[1].monthly_volume_from)
        {
            return Err(FeeRuleError::TiersNotAscending);
        }
        Ok(())
    }

    /// The fee (before taxes) on `amount` when the month's volume so far is `monthly_volume`.
    pub fn fee(&self, amount: Amount, monthly_volume: Amount) -> Result<Amount, MoneyError> {
        let Some(tier) = self
            .tiers
            .iter()
            .rev()
            .find(|t| t.monthly_volume_from <= monthly_volume)
        else {
            return Ok(self.minimum);
        };
        let fee = amount.percentage(tier.rate).checked_add(tier.fixed)?;
        Ok(fee.max(self.minimum))
    }
}

/// A fee plan that cannot be used: which rule, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {error}")]
pub struct FeePlanError {
    /// `payin` or `payout`.
    pub rule: &'static str,
    /// What is wrong with it.
    pub error: FeeRuleError,
}

impl FeePlan {
    /// Checks both rules, naming the one at fault.
    pub fn validate(&self) -> Result<(), FeePlanError> {
        self.payin.validate().map_err(|error| FeePlanError {
            rule: "payin",
            error,
        })?;
        self.payout.validate().map_err(|error| FeePlanError {
            rule: "payout",
            error,
        })
    }

    /// A plan that charges nothing (test merchants by default).
    pub fn free() -> FeePlan {
        FeePlan {
            payin: FeeRule::free(),
            payout: FeeRule::free(),
            gmf_on_payouts: false,
        }
    }

    /// What a paid pay-in of `amount` costs.
    pub fn payin(
        &self,
        amount: Amount,
        monthly_volume: Amount,
    ) -> Result<FeeBreakdown, MoneyError> {
        let fee = self.payin.fee(amount, monthly_volume)?;
        Ok(FeeBreakdown {
            fee,
            iva: fee.percentage(BasisPoints::IVA),
            gmf: Amount::ZERO,
        })
    }

    /// What a payout of `amount` costs.
    pub fn payout(
        &self,
        amount: Amount,
        monthly_volume: Amount,
    ) -> Result<FeeBreakdown, MoneyError> {
        let fee = self.payout.fee(amount, monthly_volume)?;
        Ok(FeeBreakdown {
            fee,
            iva: fee.percentage(BasisPoints::IVA),
            gmf: if self.gmf_on_payouts {
                amount.percentage(BasisPoints::GMF)
            } else {
                Amount::ZERO
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn a(minor: i64) -> Amount {
        Amount::new(minor).unwrap()
    }

    fn bp(v: u32) -> BasisPoints {
        BasisPoints::new(v).unwrap()
    }

    #[test]
    fn the_wompi_example_charges_rate_plus_fixed_plus_iva() {
        // 2.65 % + COP 700, plus 19 % IVA on the fee (cash-networks.md).
        let plan = FeePlan {
            payin: FeeRule::flat(bp(265), a(700), a(0)),
            ..FeePlan::free()
        };
        let got = plan.payin(a(150_000), a(0)).unwrap();
        assert_eq!(got.fee, a(3_975 + 700));
        assert_eq!(got.iva, a(888)); // 4675 × 0.19 = 888.25 → 888
        assert_eq!(got.total().unwrap(), a(5_563));
    }

    #[test]
    fn the_minimum_applies_below_it() {
        let rule = FeeRule::flat(bp(100), a(0), a(1_000));
        assert_eq!(rule.fee(a(50_000), a(0)).unwrap(), a(1_000));
        assert_eq!(rule.fee(a(200_000), a(0)).unwrap(), a(2_000));
    }

    #[test]
    fn tiers_apply_from_the_volume_reached_before_the_operation() {
        let rule = FeeRule {
            tiers: vec![
                Tier {
                    monthly_volume_from: a(0),
                    rate: bp(300),
                    fixed: a(500),
                },
                Tier {
                    monthly_volume_from: a(10_000_000),
                    rate: bp(200),
                    fixed: a(300),
                },
            ],
            minimum: a(0),
        };
        rule.validate().unwrap();
        assert_eq!(rule.fee(a(100_000), a(9_999_999)).unwrap(), a(3_500));
        assert_eq!(rule.fee(a(100_000), a(10_000_000)).unwrap(), a(2_300));
    }

    #[test]
    fn iva_and_gmf_round_half_up_at_their_edges() {
        let plan = FeePlan {
            payout: FeeRule::flat(bp(0), a(50), a(0)),
            gmf_on_payouts: true,
            ..FeePlan::free()
        };
        // IVA: 50 × 0.19 = 9.5 → 10. GMF: 125 × 0.004 = 0.5 → 1; 124 → 0.496 → 0.
        assert_eq!(
            plan.payout(a(125), a(0)).unwrap(),
            FeeBreakdown {
                fee: a(50),
                iva: a(10),
                gmf: a(1)
            }
        );
        assert_eq!(plan.payout(a(124), a(0)).unwrap().gmf, a(0));
        assert_eq!(plan.payout(a(200_000), a(0)).unwrap().gmf, a(800));
    }

    #[test]
    fn malformed_rules_are_refused() {
        let tier = |from| Tier {
            monthly_volume_from: a(from),
            rate: bp(1),
            fixed: a(0),
        };
        let rule = |tiers| FeeRule {
            tiers,
            minimum: a(0),
        };
        assert_eq!(rule(vec![]).validate(), Err(FeeRuleError::NoTiers));
        assert_eq!(
            rule(vec![tier(5)]).validate(),
            Err(FeeRuleError::FirstTierNotAtZero)
        );
        assert_eq!(
            rule(vec![tier(0), tier(0)]).validate(),
            Err(FeeRuleError::TiersNotAscending)
        );
        assert_eq!(
            rule((0..17).map(tier).collect()).validate(),
            Err(FeeRuleError::TooManyTiers)
        );
    }
}
