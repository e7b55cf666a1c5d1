#[leader_jobs::singleton_job(cron = "0 9 * * *", lock = "orders-partition-0")]
async fn export_orders() {}

fn main() {}
