//! Reading secrets without putting them on the command line: from stdin
//! when it is piped, from a hidden prompt when it is a terminal.

use std::io::{IsTerminal, Read};

use secrecy::SecretString;
use zeroize::Zeroizing;

/// Largest secret accepted from stdin.
const MAX_SECRET_LEN: u64 = 64 * 1024;

/// Reads one secret value. A single trailing newline (as `echo` adds) is
/// dropped; other whitespace is kept.
pub fn read_secret(prompt: &str) -> Result<SecretString, String> {
    let mut value = Zeroizing::new(String::new());
    if std::io::stdin().is_terminal() {
        *value = rpassword::prompt_password(prompt)
            .map_err(|e| format!("cannot read the value: {e}"))?;
    } else {
        std::io::stdin()
            .lock()
            .take(MAX_SECRET_LEN + 1)
            .read_to_string(&mut value)
            .map_err(|e| format!("cannot read the value from stdin: {e}"))?;
        if value.len() as u64 > MAX_SECRET_LEN {
            return Err(format!("the value is longer than {MAX_SECRET_LEN} bytes"));
        }
        if value.ends_with('\n') {
            value.pop();
            if value.ends_with('\r') {
                value.pop();
            }
        }
    }
    if value.is_empty() {
        return Err("the value is empty (pipe it on stdin, e.g. `printf %s \"$TOKEN\" | gatehouse secrets set NAME`)".into());
    }
    Ok(SecretString::from(value.as_str()))
}

/// Asks for the vault passphrase on the terminal; `new` asks twice to
/// choose one. Without a terminal, explains how to pass it instead.
pub fn prompt_passphrase(new: bool) -> Result<SecretString, String> {
    let env = gatehouse_core::vault::PASSPHRASE_ENV;
    if !std::io::stdin().is_terminal() {
        return Err(if new {
            format!("no OS keyring is reachable: choose a vault passphrase and set {env}")
        } else {
            format!("the vault is protected by a passphrase: set {env}")
        });
    }
    if !new {
        let pass = Zeroizing::new(
            rpassword::prompt_password("Vault passphrase: ").map_err(|e| e.to_string())?,
        );
        return Ok(SecretString::from(pass.as_str()));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password("Choose a vault passphrase: ").map_err(|e| e.to_string())?,
    );
    gatehouse_core::vault::check_new_passphrase(&SecretString::from(first.as_str()))
        .map_err(|e| e.to_string())?;
    let second = Zeroizing::new(
        rpassword::prompt_password("Repeat the passphrase: ").map_err(|e| e.to_string())?,
    );
    if *first != *second {
        return Err("the passphrases do not match".into());
    }
    Ok(SecretString::from(first.as_str()))
}
