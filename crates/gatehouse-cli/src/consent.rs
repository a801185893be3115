//! How the CLI shows a consent page: the authorization URL on a line of its
//! own (always), a browser when one can be opened, and paste-back of the
//! address the browser ended on for machines whose browser cannot reach the
//! loopback listener (SSH sessions, containers).

use std::io::BufRead;

use gatehouse_core::{ConsentSink, Delivery, Engine};

/// Prints the URL and, if asked, opens the system browser.
pub struct TerminalConsent {
    pub open_browser: bool,
}

#[async_trait::async_trait]
impl ConsentSink for TerminalConsent {
    async fn present(&self, server: &str, url: &str) -> Result<(), String> {
        eprintln!("To authorize {server}, open this address in a browser:");
        println!("{url}");
        eprintln!(
            "Waiting for the browser to come back. If it cannot reach this computer, paste the address it ended on and press Enter."
        );
        if self.open_browser {
            webbrowser::open(url).map_err(|e| format!("could not open a browser: {e}"))?;
        }
        Ok(())
    }
}

/// Reads pasted callback URLs from stdin and hands them to the waiting
/// authorization. The reader is a detached thread: a blocked read of stdin
/// must not keep the program alive once the authorization ends.
pub fn read_pasted_urls(engine: Engine, id: String) {
    let handle = tokio::runtime::Handle::current();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            let line = line.trim().to_owned();
            if line.is_empty() {
                continue;
            }
            match handle.block_on(engine.deliver_callback(&id, line)) {
                Delivery::Accepted | Delivery::NotWaiting => break,
                Delivery::Rejected(reason) => eprintln!(
                    "That address was not accepted: {reason}. Paste the whole address the browser ended on."
                ),
            }
        }
    });
}
