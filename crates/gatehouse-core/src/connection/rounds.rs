//! Multi-round-trip requests (SEP-2322, MCP 2026-07-28). A server that
//! needs something from the client before it can answer `tools/call`,
//! `prompts/get` or `resources/read` answers with an `InputRequiredResult`:
//! requests for the client (elicitation, sampling, roots) and/or an opaque
//! `requestState`. The client answers those requests and sends the original
//! request again, with the answers and the state echoed unchanged. Each
//! request drives its own rounds, so requests in parallel never see each
//! other's answers.
//!
//! Who answers depends on who asked: for a downstream client's request (the
//! proxy, the gateway) the client itself, as a server-to-client request of
//! its own session; for Gatehouse's own calls (`gatehouse call`, the app)
//! the person, through the connection's handler.

use std::future::Future;
use std::time::Duration;

use rmcp::ErrorData;
use rmcp::model::{
    ClientRequest, ClientResult, InputRequest, InputRequests, InputResponses, ServerRequest,
    ServerResult,
};

/// Rounds one request may take before Gatehouse gives up on the server (as
/// rmcp's and the other SDKs' clients do).
pub(crate) const MAX_ROUNDS: usize = rmcp::model::DEFAULT_MRTR_MAX_ROUNDS;

/// Sends `request` with `send`, and as long as the server answers that it
/// needs input, has `answer` fulfil its requests and sends the request
/// again with the answers and the server's state. A failure to answer
/// becomes the request's error through `refused`.
pub(crate) async fn drive<E, S, SF, A, AF>(
    mut request: ClientRequest,
    mut send: S,
    answer: A,
    refused: impl Fn(ErrorData) -> E,
) -> Result<ServerResult, E>
where
    S: FnMut(ClientRequest) -> SF,
    SF: Future<Output = Result<ServerResult, E>>,
    A: Fn(ServerRequest) -> AF,
    AF: Future<Output = Result<ClientResult, ErrorData>>,
{
    let mut waits = 0u32;
    for _ in 0..MAX_ROUNDS {
        let result = send(request.clone()).await?;
        let ServerResult::InputRequiredResult(needed) = result else {
            return Ok(result);
        };
        let requests = needed.input_requests.unwrap_or_default();
        if requests.is_empty() {
            if needed.request_state.is_none() {
                return Err(refused(ErrorData::internal_error(
                    "the server asked for input without saying which",
                    None,
                )));
            }
            // State alone: the server is not ready yet. Wait a little,
            // longer each time (as rmcp's own client does).
            tokio::time::sleep(Duration::from_millis((50u64 << waits.min(3)).min(250))).await;
            waits += 1;
        } else {
            waits = 0;
        }
        let responses = answer_all(requests, &answer).await.map_err(&refused)?;
        let responses = (!responses.is_empty()).then_some(responses);
        if !carry_answers(&mut request, responses, needed.request_state) {
            return Err(refused(ErrorData::internal_error(
                format!(
                    "the server asked for input in answer to {}, which cannot carry answers",
                    request.method()
                ),
                None,
            )));
        }
    }
    Err(refused(ErrorData::internal_error(
        format!("the server asked for input {MAX_ROUNDS} times without giving an answer"),
        None,
    )))
}

/// Answers every request of one round, all at once.
async fn answer_all<A, AF>(requests: InputRequests, answer: &A) -> Result<InputResponses, ErrorData>
where
    A: Fn(ServerRequest) -> AF,
    AF: Future<Output = Result<ClientResult, ErrorData>>,
{
    let answers = requests.into_iter().map(|(key, request)| async move {
        let request = as_server_request(request)?;
        let result = answer(request).await?;
        let value = serde_json::to_value(result).map_err(|e| {
            ErrorData::internal_error(
                format!("the client's answer could not be sent on: {e}"),
                None,
            )
        })?;
        Ok::<_, ErrorData>((key, value))
    });
    Ok(futures::future::try_join_all(answers)
        .await?
        .into_iter()
        .collect())
}

/// The request for the client in the shape of a server-to-client request.
fn as_server_request(request: InputRequest) -> Result<ServerRequest, ErrorData> {
    #[allow(deprecated)] // sampling and roots: still asked by servers
    Ok(match request {
        InputRequest::Elicitation(request) => ServerRequest::ElicitRequest(request),
        InputRequest::CreateMessage(request) => ServerRequest::CreateMessageRequest(request),
        InputRequest::ListRoots(request) => ServerRequest::ListRootsRequest(request),
        other => {
            return Err(ErrorData::invalid_params(
                format!(
                    "the server asked for input Gatehouse does not know: {}",
                    serde_json::to_string(&other).unwrap_or_default()
                ),
                None,
            ));
        }
    })
}

/// Puts a round's answers and the server's state into `request`; false for
/// a request that has no place for them.
fn carry_answers(
    request: &mut ClientRequest,
    responses: Option<InputResponses>,
    state: Option<String>,
) -> bool {
    match request {
        ClientRequest::CallToolRequest(call) => {
            call.params.input_responses = responses;
            call.params.request_state = state;
        }
        ClientRequest::GetPromptRequest(get) => {
            get.params.input_responses = responses;
            get.params.request_state = state;
        }
        ClientRequest::ReadResourceRequest(read) => {
            read.params.input_responses = responses;
            read.params.request_state = state;
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use rmcp::model::{
        CallToolRequest, CallToolRequestParams, CallToolResult, ElicitResult, ElicitationAction,
        InputRequiredResult, PingRequest,
    };

    use super::*;

    fn elicitation(message: &str) -> InputRequest {
        serde_json::from_value(serde_json::json!({
            "method": "elicitation/create",
            "params": {
                "mode": "form",
                "message": message,
                "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        }))
        .unwrap()
    }

    fn call() -> ClientRequest {
        ClientRequest::CallToolRequest(CallToolRequest::new(CallToolRequestParams::new("greet")))
    }

    fn accepted(name: &str) -> ClientResult {
        ClientResult::ElicitResult(
            ElicitResult::new(ElicitationAction::Accept)
                .with_content(serde_json::json!({"name": name})),
        )
    }

    /// The request as the server saw it: its answers and its state.
    fn seen(request: &ClientRequest) -> (Option<InputResponses>, Option<String>) {
        let ClientRequest::CallToolRequest(call) = request else {
            panic!("not a call: {request:?}")
        };
        (
            call.params.input_responses.clone(),
            call.params.request_state.clone(),
        )
    }

    #[tokio::test]
    async fn answers_the_servers_requests_and_echoes_its_state() {
        let sent = Mutex::new(Vec::new());
        let result = drive(
            call(),
            |request| {
                sent.lock().unwrap().push(seen(&request));
                let round = sent.lock().unwrap().len();
                async move {
                    Ok::<_, ErrorData>(match round {
                        1 => ServerResult::InputRequiredResult(InputRequiredResult::new(
                            Some(InputRequests::from([
                                ("first".to_owned(), elicitation("a")),
                                ("second".to_owned(), elicitation("b")),
                            ])),
                            Some("state-1".into()),
                        )),
                        _ => ServerResult::CallToolResult(CallToolResult::success(vec![])),
                    })
                }
            },
            |request| async move {
                let ServerRequest::ElicitRequest(request) = request else {
                    panic!("not an elicitation")
                };
                let message = serde_json::to_value(&request.params).unwrap()["message"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                Ok(accepted(&message))
            },
            |error| error,
        )
        .await
        .unwrap();
        assert!(matches!(result, ServerResult::CallToolResult(_)));
        let sent = sent.into_inner().unwrap();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0], (None, None), "the first round carries nothing");
        let (answers, state) = &sent[1];
        assert_eq!(state.as_deref(), Some("state-1"));
        let answers = answers.as_ref().expect("answers on the second round");
        assert_eq!(answers["first"]["content"]["name"], "a");
        assert_eq!(answers["second"]["content"]["name"], "b");
        assert_eq!(answers["first"]["action"], "accept");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_given_up_on() {
        let rounds = Mutex::new(0);
        let error = drive(
            call(),
            |_| {
                *rounds.lock().unwrap() += 1;
                async {
                    Ok::<_, ErrorData>(ServerResult::InputRequiredResult(
                        InputRequiredResult::from_input_requests(InputRequests::from([(
                            "again".to_owned(),
                            elicitation("again"),
                        )])),
                    ))
                }
            },
            |_| async { Ok(accepted("x")) },
            |error| error,
        )
        .await
        .unwrap_err();
        assert_eq!(*rounds.lock().unwrap(), MAX_ROUNDS);
        assert!(error.message.contains("10 times"), "{}", error.message);
    }

    #[tokio::test]
    async fn a_refused_answer_ends_the_request_with_that_error() {
        let error = drive(
            call(),
            |_| async {
                Ok::<_, ErrorData>(ServerResult::InputRequiredResult(
                    InputRequiredResult::from_input_requests(InputRequests::from([(
                        "q".to_owned(),
                        elicitation("q"),
                    )])),
                ))
            },
            |_| async {
                Err(ErrorData::new(
                    rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                    "no elicitation here",
                    None,
                ))
            },
            |error| error,
        )
        .await
        .unwrap_err();
        assert_eq!(error.code, rmcp::model::ErrorCode::METHOD_NOT_FOUND);
    }

    #[tokio::test]
    async fn input_for_a_request_that_cannot_carry_it_is_an_error() {
        let error = drive(
            ClientRequest::PingRequest(PingRequest::default()),
            |_| async {
                Ok::<_, ErrorData>(ServerResult::InputRequiredResult(
                    InputRequiredResult::from_request_state("s"),
                ))
            },
            |_| async { Ok(accepted("x")) },
            |error| error,
        )
        .await
        .unwrap_err();
        assert!(error.message.contains("ping"), "{}", error.message);
    }
}
