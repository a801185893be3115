//! A server asking for input while `gatehouse call` waits (MCP
//! elicitation): a prompt on the terminal, one line per field of the form
//! the server sent (Enter keeps the default), or the address of a page to
//! open, with its host, before anything is opened. Everything goes to
//! stderr; stdout keeps the tool's result. Without a terminal there is
//! nobody to ask: the request is declined, and the person told so.

use std::io::{BufRead, IsTerminal, Write};

use gatehouse_core::elicitation::{
    Answer, ElicitationSink, FieldKind, FormRequest, UrlRequest, fields,
};
use gatehouse_core::text::for_terminal;
use serde_json::Map;

/// Tries per field before the form is given up.
const TRIES: usize = 3;

/// Asks the person at the terminal.
pub struct TerminalPerson;

#[async_trait::async_trait]
impl ElicitationSink for TerminalPerson {
    async fn fill_form(&self, request: FormRequest) -> Answer {
        ask(move |io| fill_form(io, &request)).await
    }

    async fn open_url(&self, request: UrlRequest) -> Answer {
        ask(move |io| open_url(io, &request)).await
    }
}

/// The terminal, as a prompt reads and writes it.
struct Io<'a> {
    input: &'a mut dyn BufRead,
    output: &'a mut dyn Write,
}

impl Io<'_> {
    /// One line of input after `prompt`; `None` at the end of input.
    fn line(&mut self, prompt: &str) -> Option<String> {
        let _ = write!(self.output, "{prompt}");
        let _ = self.output.flush();
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    fn say(&mut self, text: &str) {
        let _ = writeln!(self.output, "{text}");
    }
}

/// Runs a prompt on the terminal off the async runtime, or declines when
/// there is no terminal to ask at.
async fn ask(prompt: impl FnOnce(&mut Io) -> Answer + Send + 'static) -> Answer {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        eprintln!(
            "The server asked for input, but there is no terminal to ask at: declined. Run the command in a terminal to answer."
        );
        return Answer::Decline;
    }
    tokio::task::spawn_blocking(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut output = std::io::stderr();
        prompt(&mut Io {
            input: &mut input,
            output: &mut output,
        })
    })
    .await
    .unwrap_or(Answer::Cancel)
}

fn fill_form(io: &mut Io, request: &FormRequest) -> Answer {
    io.say(&format!(
        "{} asks: {}",
        for_terminal(&request.server),
        for_terminal(&request.message)
    ));
    let mut values = Map::new();
    for field in fields(&request.schema) {
        let mut hint = match &field.kind {
            FieldKind::Choice(choices) => format!(" ({})", choices.join(", ")),
            FieldKind::Boolean => " (yes/no)".to_owned(),
            FieldKind::Integer => " (a whole number)".to_owned(),
            FieldKind::Number => " (a number)".to_owned(),
            FieldKind::Text => String::new(),
        };
        if let Some(default) = &field.default {
            hint.push_str(&format!(
                " [{}]",
                default
                    .as_str()
                    .map_or_else(|| default.to_string(), str::to_owned)
            ));
        }
        if let Some(description) = &field.description {
            io.say(&format!("  {}", for_terminal(description)));
        }
        let prompt = format!(
            "{}{}{}: ",
            for_terminal(&field.label),
            if field.required { " *" } else { "" },
            for_terminal(&hint)
        );
        let mut value = None;
        for _ in 0..TRIES {
            let Some(text) = io.line(&prompt) else {
                return Answer::Cancel;
            };
            if text.trim().is_empty() {
                // Enter: the default (filled in by the engine), or nothing.
                if field.required && field.default.is_none() {
                    io.say(&format!("{} is required.", for_terminal(&field.label)));
                    continue;
                }
                value = Some(None);
                break;
            }
            match field.parse(&text) {
                Ok(parsed) => {
                    value = Some(Some(parsed));
                    break;
                }
                Err(problem) => io.say(&for_terminal(&problem)),
            }
        }
        match value {
            Some(Some(parsed)) => {
                values.insert(field.name.clone(), parsed);
            }
            Some(None) => {}
            None => return Answer::Cancel,
        }
    }
    match io.line("Send this to the server? [Y/n] ") {
        None => Answer::Cancel,
        Some(answer) if answer.trim().is_empty() || yes(&answer) => Answer::Accept(values),
        Some(_) => Answer::Decline,
    }
}

fn open_url(io: &mut Io, request: &UrlRequest) -> Answer {
    io.say(&format!(
        "{} asks you to open a page on {}: {}",
        for_terminal(&request.server),
        for_terminal(&request.host),
        for_terminal(&request.message)
    ));
    io.say(&for_terminal(&request.url));
    match io.line("Open it in your browser? [y/N] ") {
        None => Answer::Cancel,
        Some(answer) if yes(&answer) => {
            if let Err(error) = webbrowser::open(&request.url) {
                io.say(&format!(
                    "Could not open a browser ({error}): open the address yourself."
                ));
            }
            Answer::Accept(Map::new())
        }
        Some(_) => Answer::Decline,
    }
}

fn yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str, prompt: impl FnOnce(&mut Io) -> Answer) -> (Answer, String) {
        let mut input = std::io::Cursor::new(input.as_bytes().to_vec());
        let mut output = Vec::new();
        let answer = prompt(&mut Io {
            input: &mut input,
            output: &mut output,
        });
        (answer, String::from_utf8(output).unwrap())
    }

    fn form() -> FormRequest {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "title": "Name", "default": "John Doe"},
                "age": {"type": "integer", "title": "Age"},
                "plan": {"type": "string", "enum": ["free", "pro"]},
            },
            "required": ["plan"],
        });
        FormRequest {
            server: "demo".into(),
            message: "Your details\u{1b}[31m".into(),
            defaults: gatehouse_core::elicitation::schema_defaults(&schema),
            schema,
        }
    }

    #[test]
    fn a_form_is_filled_line_by_line_with_retries_and_defaults() {
        // plan (required, asked first): wrong, then right; name: Enter keeps
        // the default; age: not a number, then 41; then send.
        let typed = |name: &str| match name {
            "plan" => "gold\npro\n",
            "name" => "\n",
            _ => "forty\n41\n",
        };
        let order: Vec<String> = fields(&form().schema).into_iter().map(|f| f.name).collect();
        assert_eq!(order[0], "plan");
        let input: String = order.iter().map(|name| typed(name)).collect::<String>() + "\n";
        let (answer, shown) = run(&input, |io| fill_form(io, &form()));
        let Answer::Accept(values) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(
            serde_json::Value::Object(values),
            serde_json::json!({"plan": "pro", "age": 41})
        );
        assert!(shown.contains("demo asks: Your details"), "{shown}");
        assert!(
            !shown.contains('\u{1b}'),
            "escape sequences are shown inert: {shown:?}"
        );
        assert!(shown.contains("plan must be one of: free, pro"), "{shown}");
        assert!(shown.contains("Name [John Doe]: "), "{shown}");
        assert!(shown.contains("Age must be a whole number"), "{shown}");
    }

    #[test]
    fn no_ends_it_declined_and_the_end_of_input_cancelled() {
        let (answer, _) = run("pro\n\n\nn\n", |io| fill_form(io, &form()));
        // (plan, then Enter for the two others, then "n".)
        assert_eq!(answer, Answer::Decline);
        let (answer, _) = run("pro\n", |io| fill_form(io, &form()));
        assert_eq!(answer, Answer::Cancel);
        let (answer, shown) = run("\n\n\n", |io| fill_form(io, &form()));
        assert_eq!(
            answer,
            Answer::Cancel,
            "a required field left empty three times"
        );
        assert!(shown.contains("plan * (free, pro): "), "{shown}");
    }

    #[test]
    fn a_page_is_shown_with_its_host_and_opened_only_on_yes() {
        let request = UrlRequest {
            server: "demo".into(),
            message: "Connect your account".into(),
            url: "https://auth.example.com/connect".into(),
            host: "auth.example.com".into(),
        };
        let (answer, shown) = run("\n", |io| open_url(io, &request));
        assert_eq!(answer, Answer::Decline);
        assert!(shown.contains("open a page on auth.example.com"), "{shown}");
        assert!(
            shown.contains("https://auth.example.com/connect"),
            "{shown}"
        );
    }
}
