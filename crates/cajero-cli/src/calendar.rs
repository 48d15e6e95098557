//! `cajero calendar …`: when settlements land.

use cajero_domain::calendar;
use clap::Subcommand;
use jiff::civil::Date;
use serde_json::json;

use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Colombia's public holidays in a year (1984–2100).
    Holidays {
        /// The year.
        #[arg(long)]
        year: i16,
        /// Print JSON: [{"date": "2026-01-01", "name": "…"}, …].
        #[arg(long)]
        json: bool,
    },
    /// The date N business days after a date (T+N, as settlements count).
    AddBusinessDays {
        /// The start date, YYYY-MM-DD.
        #[arg(long)]
        from: Date,
        /// How many business days.
        #[arg(long)]
        days: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: CalendarCommand) -> anyhow::Result<()> {
    match command {
        CalendarCommand::Holidays { year, json } => {
            let holidays = calendar::holidays(year)?;
            let value = serde_json::to_value(&holidays)?;
            print(json, &value, || {
                holidays
                    .iter()
                    .map(|h| format!("{}  {}  {}", h.date, weekday(h.date), h.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        CalendarCommand::AddBusinessDays { from, days, json } => {
            let date = calendar::add_business_days(from, days)?;
            let value = json!({"from": from.to_string(), "days": days, "date": date.to_string()});
            print(json, &value, || {
                format!("{from} + {days} business days = {date} ({})", weekday(date))
            });
        }
    }
    Ok(())
}

fn weekday(date: Date) -> &'static str {
    use jiff::civil::Weekday::*;
    match date.weekday() {
        Monday => "lunes",
        Tuesday => "martes",
        Wednesday => "miércoles",
        Thursday => "jueves",
        Friday => "viernes",
        Saturday => "sábado",
        Sunday => "domingo",
    }
}
