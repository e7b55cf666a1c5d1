use std::rc::Rc;

async fn tick() {}

#[leader_jobs::singleton_job(cron = "0 9 * * *")]
async fn holds_rc_across_await() {
    let counter = Rc::new(1);
    tick().await;
    drop(counter);
}

fn main() {}
