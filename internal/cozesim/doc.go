// Package cozesim is a fake Coze (www + api) for tests and the demo mode,
// written from docs/coze-protocol.md without using
// internal/coze, so a misreading of the wire format cannot hide in both.
//
// One *Sim serves the "www" paths (authorize, consent page) and the "api"
// paths (token endpoint, /v1, /v3) on one base URL, optionally under
// Options.PathPrefix (the demo mounts it at /_sim with http.StripPrefix).
//
// # Demo data
//
// Users (19-digit ids): UserAlan "Alan", UserBea "Bea", UserChen "Chen".
// Each has a personal workspace (WorkspaceAlan, WorkspaceBea, WorkspaceChen);
// all three are members of WorkspaceTeam (Alan owns it).
//
// Every workspace holds the same nine bots. The team workspace's ids are the
// exported constants BotAssistant, BotMemory, BotXSS, BotSlow, BotDraft,
// BotThinking ("Thinking demo"), BotCard ("Card demo"), BotQuestion
// ("Question demo") and BotMath ("Math demo"); the personal copies have ids
// "74" + last three digits of the user id + the bot number (001–009) + eleven
// zeros, e.g. Alan's Assistant "7410100100000000000". BotDraft (and each copy)
// is never published: chat with the default publish_status answers 4015 until
// /v1/bot/publish.
//
// Workflows (team workspace): WorkflowWeather (inputs city required, date
// optional), WorkflowAsk (a question node: stream_run ends with Interrupt;
// stream_resume with resume_data "城市，日期" or "city,date" finishes it),
// WorkflowJoke (streams a joke, input topic optional), WorkflowChat (a
// chatflow: listed, not run; the app offers no chatflows),
// WorkflowDraft (unpublished: run answers 4200), WorkflowInApp (inside the
// Coze app DemoAppID: runs only with that app_id, 4200 otherwise) and
// WorkflowSlow (its first event comes SlowWorkflowDelay after the headers,
// with a PING every 2 s meanwhile).
//
// # Reply rules
//
// Replies are deterministic functions of the message text (q) and the
// conversation's context (question/answer messages of the current section,
// excluding cancelled chats, plus earlier additional_messages):
//
//   - Any bot except XSS Lab: q containing "#tool", "weather tool" or "天气工具"
//     calls the local tool local_weather (conversation.chat.requires_action;
//     optional "city=X"). Tool outputs are not accepted: the app submits none.
//   - Any bot: q containing "#fail" makes the chat fail (last_error 5000
//     "event interval error"; the stream ends with conversation.chat.failed,
//     no done).
//   - Any bot: q containing "#busy" or "服务器繁忙" fails with the 9-digit
//     platform error 702042078 "We're currently experiencing server issues.
//     Please try again later." (conversation.chat.failed last_error; the log
//     id is the response's X-Tt-Logid). A Fault with ErrorAfterEvents and
//     Code 702042078 sends the same code as an error event instead.
//   - Any bot: a streamed q containing "#prerun" fails before the run: HTTP
//     200 text/event-stream whose only event is error {5000, msg}.
//   - Any bot: q containing "#card" answers a card (content_type "card",
//     sent only as message.completed) whose strings and URLs carry XSS
//     payloads.
//   - Cards only with enable_card: a /v3/chat without "enable_card": true
//     gets no card answers (the Card demo's card is left out, "#card"
//     answers a text stand-in) and the Question demo asks in a plain text
//     answer "Title\n\n- option" per option, still ending in
//     requires_action.
//   - Any bot: when the user's object_string held an audio item, the answer
//     is also spoken: 3 conversation.audio.delta events (the answer's id,
//     content_type "audio", base64 PCM 24 kHz s16le) after
//     conversation.chat.completed, before done. Never after failed or
//     requires_action.
//   - Thinking demo: reasoning_content deltas (content "") first, then the
//     answer's deltas (reasoning_content ""); the completed answer (and the
//     message lists) carry both (fixture chat_stream_reasoning.sse).
//   - Card demo: a card answer (envelope {card_type:3, content_type:50,
//     response_type:"card", template_id, template_url, data: DSL JSON
//     string, x_properties}; DSL components Text, Image, Button with
//     enableUrl/enableMessage), then a short text answer (fixture
//     chat_stream_card.sse).
//   - Question demo, a drink-order workflow: a text answer, a card answer
//     whose x_properties.workflow_card_info is {"card_type":"QUESTION",
//     "question_card_data":{"Title","Options":[{"name"}]}}, verbose
//     interrupt, verbose generate_answer_finish (finish_reason 1), then
//     conversation.chat.requires_action with tool_calls [{"id":"",
//     "type":"reply_message","function":null,"require_info":null}] and done
//     (fixture chat_stream_question.sse). The user's next /v3/chat in the
//     conversation naming an option ("咖啡 / Coffee", "Coffee" or "咖啡")
//     continues the workflow: a normal answer with follow-ups. Any other
//     reply asks again.
//   - Math demo (a bot with knowledge): verbose knowledge_recall before the
//     answer (fixture chat_stream_verbose.sse), then Markdown with inline
//     $…$ and display $$…$$ math ("pythagoras"/"勾股", "quadratic"/"x^2",
//     "euler"/"欧拉" pick topics; anything else gets all) and a line with
//     dollar prices that are not math.
//   - Any bot: "chunk=N" in q makes every delta N runes long (default 2–12,
//     deterministic).
//   - Assistant (and bots created via the API): Markdown with a "## 回答 /
//     Answer" heading, the question echoed in bold ("You asked: **q**"), a
//     bullet list, a table (characters/words of q), a ```go code block, a link
//     to the Coze docs and an image ({assets}/diagram.svg). Attachments of an
//     object_string message are listed.
//   - Memory Bot: "This is turn N. 这是第 N 轮。 Earlier you said: “a”, “b”.
//     Now you said: “q”." (turn 1: "You haven't told me anything before in
//     this conversation.").
//   - XSS Lab: hostile payloads (script, img onerror, javascript: link,
//     entity-encoded javascript:, data: link, iframe srcdoc, svg onload, raw
//     HTML overlay, anchor to //evil.example target=_blank, form, meta refresh,
//     base, mXSS noscript). Words in q pick payloads ("script", "img", "link",
//     "entity", "data", "iframe", "svg", "html", "anchor", "form", "meta",
//     "base", "mxss"); none or "all" sends every payload. The follow-up chips
//     carry payloads too, and the bot description holds an img onerror.
//   - Slow Storyteller: a ~1000-rune story in about 150 deltas, at least
//     50ms apart (Options.DeltaDelay if larger), so Stop can be tested.
//
// Every successful answer streams created → in_progress →
// [message.completed(verbose knowledge_recall)] → [message.completed(card
// answer)] → deltas (one message id) → message.completed(answer) →
// message.completed(verbose generate_answer_finish) → 3 ×
// message.completed(follow_up) → chat.completed (usage) →
// [conversation.audio.delta…] → done "[DONE]". Verbose messages are never
// answer text.
//
// # OAuth
//
// Authorization code (web app: "Authorization: Bearer <secret>"; PKCE public
// app: no header or an empty Bearer) and refresh with rotation; no device
// flow (a web app never uses it). Consent: {prefix}/oauth/consent?authorize_key=K,
// a form posting user_id and decision=approve|deny.
//
// # Interpretations
//
// Cancel flips a chat to "canceled" but the stream goes on to its normal end
// (its events keep saying "completed"; retrieve says "canceled"). A client
// disconnect stops the writing; the chat is then finished and saved at once
// (§19 Q13 reading A). Codes are burnt by any exchange attempt that names them
// with the right client. A non-stream chat completes on the first observation
// at or after created_at+ChatDelay (no background goroutine).
package cozesim
