//! `gatehouse tools|resources|prompts|call`: what one connected server
//! offers, and calling its tools. Everything here connects just the one
//! server the command names.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use gatehouse_core::Engine;

use super::connect_one;
use crate::output;

pub async fn tools(engine: &Engine, id: &str, json: bool) -> Result<ExitCode> {
    connect_one(engine, id).await?;
    if json {
        // As the server described them, every field kept.
        output::json(&engine.describe_tools(id).await?)?;
    } else {
        let tools = engine.list_tools(id).await?;
        output::listing(
            tools
                .iter()
                .map(|t| (&*t.name, first_line(t.description.as_deref()))),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn resources(engine: &Engine, id: &str, templates: bool, json: bool) -> Result<ExitCode> {
    connect_one(engine, id).await?;
    if templates {
        let templates = engine.list_resource_templates(id).await?;
        if json {
            output::json(&templates)?;
        } else {
            output::listing(templates.iter().map(|t| (&*t.uri_template, &*t.name)))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let resources = engine.list_resources(id).await?;
    if json {
        output::json(&resources)?;
    } else {
        output::listing(resources.iter().map(|r| (&*r.uri, &*r.name)))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn prompts(engine: &Engine, id: &str, json: bool) -> Result<ExitCode> {
    connect_one(engine, id).await?;
    let prompts = engine.list_prompts(id).await?;
    if json {
        output::json(&prompts)?;
    } else {
        output::listing(
            prompts
                .iter()
                .map(|p| (&*p.name, first_line(p.description.as_deref()))),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn call(
    engine: &Engine,
    id: &str,
    tool: &str,
    arguments: Option<&str>,
    json: bool,
    wait: Option<std::time::Duration>,
) -> Result<ExitCode> {
    let arguments = match arguments {
        None => None,
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            Ok(_) => bail!("the arguments must be a JSON object, e.g. '{{\"text\": \"hi\"}}'"),
            Err(e) => return Err(anyhow!("the arguments are not valid JSON: {e}")),
        },
    };
    // The server may ask the person for input while the tool runs.
    engine.set_elicitation_sink(std::sync::Arc::new(crate::elicit::TerminalPerson));
    connect_one(engine, id).await?;
    let result = engine.call_tool_within(id, tool, arguments, wait).await?;
    if json {
        output::json(&result)?;
    } else {
        output::tool_result(&result)?;
    }
    if result.is_error == Some(true) {
        bail!("tool {tool:?} reported an error");
    }
    Ok(ExitCode::SUCCESS)
}

/// The first line of a description, for a one-line listing.
fn first_line(description: Option<&str>) -> &str {
    description.unwrap_or("").lines().next().unwrap_or("")
}
