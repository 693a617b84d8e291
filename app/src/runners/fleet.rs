//! The pools as people see them, for the runners page and the API: their machines, what they
//! cost today and this month, and why one creates no machine when it cannot.

use crate::db::pools::{self, Pool};
use crate::db::Db;
use crate::runners::pool::{spent, MachineInfo, PoolInfo};

/// Changes of each pool's machines shown in its history.
const HISTORY: i64 = 50;

/// Every pool as of `now` (milliseconds since the Unix epoch), by name.
pub async fn list(db: &Db, now: i64) -> sqlx::Result<Vec<PoolInfo>> {
    let pools = pools::all(db).await?;
    let machines = pools::live_machines(db).await?;
    let (today, month) = crate::format::utc_day_and_month_start_ms(now);
    let mut listed = Vec::with_capacity(pools.len());
    for pool in pools {
        let lives = pools::lives_since(db, pool.id, month).await?;
        let price = pool.settings.price_per_hour;
        listed.push(PoolInfo {
            machines: machines
                .iter()
                .filter(|m| m.pool_id == pool.id)
                .map(|m| MachineInfo {
                    name: m.name.clone(),
                    state: m.state,
                    state_for_s: (now - m.state_ms) / 1000,
                })
                .collect(),
            spent_today: spent(&lives, today, now, price),
            spent_this_month: spent(&lives, month, now, price),
            held: hold(db, &pool, now).await?,
            history: pools::history(db, pool.id, HISTORY).await?,
            name: pool.name,
            settings: pool.settings,
        });
    }
    Ok(listed)
}

/// Why pool `pool` creates no machine now, if it cannot: a failed create command's backoff, or
/// its daily cost reached.
pub async fn hold(db: &Db, pool: &Pool, now: i64) -> sqlx::Result<Option<String>> {
    if now < pool.next_create_ms {
        return Ok(Some(format!(
            "{} create command{} failed in a row; trying again in {} s",
            pool.create_failures,
            if pool.create_failures == 1 { "" } else { "s" },
            (pool.next_create_ms - now + 999) / 1000
        )));
    }
    let Some(limit) = pool.settings.max_cost_per_day else {
        return Ok(None);
    };
    let (today, _) = crate::format::utc_day_and_month_start_ms(now);
    let lives = pools::lives_since(db, pool.id, today).await?;
    let cost = spent(&lives, today, now, pool.settings.price_per_hour);
    Ok((cost >= limit).then(|| {
        format!(
            "it has cost {cost:.2} today and its max_cost_per_day is {limit:.2}: no new machine \
             until midnight UTC"
        )
    }))
}
