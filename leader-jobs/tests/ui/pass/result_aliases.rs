// Any `Result<(), E>` with `E: Display` works, also through aliases and boxed errors.
#[leader_jobs::singleton_job(cron = "@daily")]
async fn write_report() -> std::io::Result<()> {
    Ok(())
}

#[leader_jobs::singleton_job(cron = "@hourly")]
async fn sync_accounts() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Ok(())
}

fn main() {
    assert_eq!(leader_jobs::registered_jobs().len(), 2);
}
