package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// apiError is an error the page can show: a status, a stable code, and the
// message and hint in English and Chinese.
type apiError struct {
	Status         int
	Code           string
	En, Zh         string
	HintEn, HintZh string
	RetryAfter     time.Duration // sent as Retry-After when set (429)
	Field          string        // the request field at fault, for the page to point at
}

func (e *apiError) Error() string { return e.Code + ": " + e.En }

func badRequest(en, zh string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", En: en, Zh: zh}
}

var (
	errNotFound         = &apiError{Status: 404, Code: "not_found", En: "Not found.", Zh: "未找到。"}
	errMethodNotAllowed = &apiError{Status: 405, Code: "method_not_allowed", En: "This method is not allowed here.", Zh: "不允许使用此方法。"}
	errCrossOrigin      = &apiError{Status: 403, Code: "cross_origin", En: "Cross-origin request refused.", Zh: "已拒绝跨源请求。"}
	errUnsupportedMedia = &apiError{Status: 415, Code: "unsupported_media_type", En: "Send the body as application/json.", Zh: "请求内容必须是 application/json。"}
	errTooLarge         = &apiError{Status: 413, Code: "too_large", En: "The request body is too large.", Zh: "请求内容过大。"}
	// errFileTypeUnsupported answers a file outside Coze's documented list,
	// refused by us or by Coze (code 4303).
	errFileTypeUnsupported = &apiError{Status: 415, Code: "unsupported_media_type",
		En: "This file type is not supported by Coze.", Zh: "Coze 不支持该文件类型。",
		HintEn: "Coze accepts documents (PDF, DOC/DOCX, XLS/XLSX, PPT/PPTX, Numbers, CSV), code (C, CPP, PY, JAVA), images (JPG, PNG, GIF, WEBP, BMP, HEIC, TIFF…), audio (MP3, WAV, FLAC, M4A, OGG…), video (MP4, MOV, WEBM…) and archives (ZIP, RAR, 7Z, GZ, BZ2). Plain text, Markdown and JSON are not accepted: save them as CSV or PDF, or paste the text into the message.",
		HintZh: "Coze 支持文档（PDF、DOC/DOCX、XLS/XLSX、PPT/PPTX、Numbers、CSV）、代码（C、CPP、PY、JAVA）、图片（JPG、PNG、GIF、WEBP、BMP、HEIC、TIFF 等）、音频（MP3、WAV、FLAC、M4A、OGG 等）、视频（MP4、MOV、WEBM 等）和压缩包（ZIP、RAR、7Z、GZ、BZ2）。不支持纯文本、Markdown 和 JSON：请另存为 CSV 或 PDF，或把文字直接粘贴到消息中。"}
)

// toAPIError maps any error to what the page sees. Unknown errors become
// internal_error and are logged by writeError.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	var se *chat.StreamError
	if errors.As(err, &se) {
		return &apiError{Status: 502, Code: se.Code,
			En: "The reply ended before it was complete: " + scrub(se.Message), Zh: "回复未完整结束：" + scrub(se.Message),
			HintEn: "Retry; the partial answer is kept in the history.", HintZh: "请重试；已收到的部分保存在历史记录中。"}, true
	}
	var bre *chat.BadRequestError
	if errors.As(err, &bre) {
		ae := badChatInput(bre)
		ae.Field = bre.Field
		return ae, true
	}
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return &apiError{Status: 401, Code: "unauthenticated", En: "Please sign in with Coze.", Zh: "请先使用 Coze 账号登录。"}, true
	case errors.Is(err, auth.ErrReauthRequired):
		return &apiError{Status: 401, Code: "reauth_required",
			En: "Your Coze authorization has ended. Please sign in again.", Zh: "Coze 授权已失效，请重新登录。",
			HintEn: "Refresh tokens last 30 days and each can be used once; signing in again fixes it.",
			HintZh: "刷新令牌有效期为 30 天且只能使用一次，重新登录即可恢复。"}, true
	case errors.Is(err, auth.ErrRefreshUnavailable):
		return &apiError{Status: 503, Code: "upstream_unavailable",
			En: "Could not renew your Coze authorization right now. Please retry in a moment.", Zh: "暂时无法续期 Coze 授权，请稍后重试。"}, true
	case errors.Is(err, store.ErrNotFound), errors.Is(err, chat.ErrNotFound):
		return errNotFound, true
	case errors.Is(err, chat.ErrShuttingDown):
		return &apiError{Status: 503, Code: "shutting_down", En: "This server is restarting. Please retry in a moment.", Zh: "服务器正在重启，请稍后重试。"}, true
	case errors.Is(err, chat.ErrBadEventID):
		return badRequest("Last-Event-ID does not match an event of this reply.", "Last-Event-ID 与该回复的事件不符。"), true
	case errors.Is(err, chat.ErrTooManyReplies):
		var be *chat.BusyError
		n := chat.DefaultMaxRepliesPerUser
		if errors.As(err, &be) {
			n = be.Max
		}
		return tooMany("too_many_replies", 10*time.Second,
			fmt.Sprintf("You already have %d replies in progress. Wait for one to finish, or press Stop on one.", n),
			fmt.Sprintf("您已有 %d 条回复正在生成。请等待其中一条完成，或停止其中一条。", n)), true
	case errors.Is(err, auth.ErrTooManySignIns):
		return &apiError{Status: 429, Code: "too_many_sign_ins", En: "Too many sign-ins are pending. Please wait a minute.", Zh: "待完成的登录过多，请稍候一分钟。"}, true
	case errors.Is(err, auth.ErrBadWorkspace):
		return badRequest("workspace_id must be digits.", "workspace_id 必须是数字。"), true
	case errors.Is(err, chat.ErrBadRequest):
		return badRequest("The request is not valid.", "请求无效。"), true
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: 504, Code: "upstream_timeout", En: "Coze did not answer in time. Please retry.", Zh: "Coze 响应超时，请重试。"}, true
	case errors.Is(err, context.Canceled):
		return &apiError{Status: 503, Code: "canceled", En: "The request was canceled.", Zh: "请求已取消。"}, true
	}
	return cozeAPIError(err)
}

// cozeAPIError turns Coze's failures into plain words with what to do.
func cozeAPIError(err error) (*apiError, bool) {
	var ce *coze.APIError
	isAPI := errors.As(err, &ce)
	permission := "the one this feature needs"
	if isAPI && ce.Permission != "" {
		permission = ce.Permission // the endpoint's, known to the client
	}
	switch {
	case coze.IsTokenInvalid(err):
		return &apiError{Status: 401, Code: "reauth_required",
			En: "Coze no longer accepts your authorization. Please sign in again.", Zh: "Coze 不再接受当前授权，请重新登录。",
			HintEn: "If this repeats right after signing in, check COZE_REGION: coze.cn and coze.com accounts are separate.",
			HintZh: "如果登录后仍反复出现，请检查 COZE_REGION：coze.cn 与 coze.com 账号互不通用。"}, true
	case coze.IsPermissionDenied(err):
		return &apiError{Status: 403, Code: "permission_denied",
			En:     "Coze refused: the OAuth app lacks a permission, or your account cannot access this workspace or resource.",
			Zh:     "Coze 拒绝了请求：OAuth 应用缺少权限，或您的账号无权访问该空间或资源。",
			HintEn: fmt.Sprintf("If you are a member, add the permission %q to the app in the Coze console (API → Authorization → OAuth apps), then sign in again.", permission),
			HintZh: fmt.Sprintf("如果您是该空间成员，请在 Coze 控制台（API → 授权 → OAuth 应用）为应用添加权限 %q，然后重新登录。", permission)}, true
	case coze.IsNotPublished(err):
		return &apiError{Status: 409, Code: "bot_not_published",
			En: "This bot is not published to the API channel.", Zh: "该智能体尚未发布到 API 渠道。",
			HintEn: "Open the bot in Coze, click Publish and tick the “API” channel, then try again.",
			HintZh: "请在 Coze 中打开该智能体，点击“发布”并勾选“API”渠道后重试。"}, true
	case coze.IsConversationBusy(err):
		return &apiError{Status: 409, Code: "conversation_busy",
			En: "This conversation is still answering a previous message.", Zh: "该会话仍在回复上一条消息。",
			HintEn: "Wait for the answer, press Stop, or start a new conversation.",
			HintZh: "请等待回复完成、点击停止，或新建会话。"}, true
	case coze.IsQuotaExceeded(err):
		return &apiError{Status: 429, Code: "quota_exceeded",
			En: "The Coze account has no balance or quota left for this bot.", Zh: "Coze 账户余额或额度不足。",
			HintEn: "Top up the Coze account or ask its owner to, then retry.", HintZh: "请为 Coze 账户充值或联系其所有者后重试。"}, true
	case coze.IsRateLimited(err):
		return &apiError{Status: 429, Code: "rate_limited",
			En: "Coze is limiting requests right now.", Zh: "Coze 当前请求过于频繁。",
			HintEn: "Wait a minute and retry. Code 4008 means the bot's daily limit for you is reached.",
			HintZh: "请稍等一分钟后重试。错误码 4008 表示今日该智能体的使用次数已达上限。"}, true
	case coze.IsNotFound(err):
		return &apiError{Status: 404, Code: "not_found", En: "Coze could not find that bot, conversation or resource.", Zh: "Coze 找不到该智能体、会话或资源。"}, true
	case coze.IsFileTypeUnsupported(err):
		return errFileTypeUnsupported, true
	case coze.IsModelFailure(err):
		return &apiError{Status: 502, Code: "model_error",
			En: "The bot's model failed to answer. Please try again.", Zh: "智能体的模型未能作答，请重试。",
			HintEn: fmt.Sprintf("This is usually temporary: retry in a moment. Log id %s (code %d) helps Coze support if it keeps failing.", safeLogID(ce.LogID), ce.Code),
			HintZh: fmt.Sprintf("这通常是暂时的，请稍后重试。如持续失败，请向 Coze 支持提供日志 ID %s（错误码 %d）。", safeLogID(ce.LogID), ce.Code)}, true
	case coze.IsPlatformError(err):
		// Coze's 9-digit platform codes (e.g. 702042078, coze-java#47) carry
		// a message meant for people; show it with the log id (coze-protocol E7).
		msg := scrub(ce.Msg)
		return &apiError{Status: 502, Code: "upstream_error",
			En: "Coze reported a problem: " + msg, Zh: "Coze 报告了一个问题：" + msg,
			HintEn: fmt.Sprintf("Retry in a moment. Log id %s (code %d) helps Coze support if it persists.", safeLogID(ce.LogID), ce.Code),
			HintZh: fmt.Sprintf("请稍后重试。如持续出现，请向 Coze 支持提供日志 ID %s（错误码 %d）。", safeLogID(ce.LogID), ce.Code)}, true
	case coze.IsInvalidRequest(err):
		msg := scrub(ce.Msg)
		return &apiError{Status: 400, Code: "bad_request", En: "Coze rejected the request: " + msg, Zh: "Coze 拒绝了该请求：" + msg}, true
	case coze.IsUpstreamUnavailable(err):
		return &apiError{Status: 502, Code: "upstream_unavailable", En: "Coze is not reachable right now. Please retry.", Zh: "暂时无法连接 Coze，请重试。"}, true
	case isAPI:
		msg := scrub(ce.Msg)
		return &apiError{Status: 502, Code: "upstream_error",
			En:     fmt.Sprintf("Coze answered with error %d: %s", ce.Code, msg),
			Zh:     fmt.Sprintf("Coze 返回错误 %d：%s", ce.Code, msg),
			HintEn: "Log id " + safeLogID(ce.LogID) + " helps Coze support.", HintZh: "向 Coze 支持反馈时请提供日志 ID " + safeLogID(ce.LogID) + "。"}, true
	}
	var oe *coze.OAuthError
	if errors.As(err, &oe) {
		return &apiError{Status: 401, Code: "reauth_required", En: "Coze refused the authorization. Please sign in again.", Zh: "Coze 拒绝了授权，请重新登录。"}, true
	}
	return nil, false
}

// safeLogID passes Coze's X-Tt-Logid (34 letters and digits, coze-protocol
// §1.3) through; scrub would redact it as token-like.
func safeLogID(s string) string {
	if s == "" || len(s) > 64 || strings.IndexFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
	}) >= 0 {
		return "(none)"
	}
	return s
}

func scrub(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	// A Coze message may echo the credential it was sent (catalog case 29).
	return coze.RedactCredentials(strings.ToValidUTF8(s, ""))
}

// writeError answers err as {"error":{"code","message","hint"?}} in the
// request's language; unknown errors are logged and answered internal_error.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := toAPIError(err)
	if !ok {
		ae = &apiError{Status: 500, Code: "internal_error",
			En: "Something went wrong on our side (request " + requestIDFrom(r.Context()) + ").",
			Zh: "服务器内部错误（请求 " + requestIDFrom(r.Context()) + "）。"}
		if l := loggerFrom(r); l != nil {
			l.ErrorContext(r.Context(), "internal error", "request_id", requestIDFrom(r.Context()), "err", err)
		}
	}
	zh := prefersChinese(r)
	body := map[string]string{"code": ae.Code, "message": ae.En}
	if zh {
		body["message"] = ae.Zh
	}
	if hint := pick(zh, ae.HintEn, ae.HintZh); hint != "" {
		body["hint"] = hint
	}
	if ae.Field != "" {
		body["field"] = ae.Field
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(roundUp(ae.RetryAfter)/time.Second)))
	}
	if ae.Status == http.StatusMethodNotAllowed && w.Header().Get("Allow") == "" {
		w.Header().Set("Allow", "GET, HEAD")
	}
	writeJSON(w, ae.Status, map[string]any{"error": body})
}

// tooMany is a 429 that says, in plain words, what to do and when to retry.
func tooMany(code string, retry time.Duration, en, zh string) *apiError {
	secs := int(roundUp(retry) / time.Second)
	return &apiError{Status: http.StatusTooManyRequests, Code: code, En: en, Zh: zh, RetryAfter: retry,
		HintEn: fmt.Sprintf("Try again in %d seconds.", secs), HintZh: fmt.Sprintf("请 %d 秒后重试。", secs)}
}

func pick(zh bool, en, zhs string) string {
	if zh && zhs != "" {
		return zhs
	}
	return en
}

// prefersChinese reads the page's language choice (X-Lang) or Accept-Language.
func prefersChinese(r *http.Request) bool {
	if l := r.Header.Get("X-Lang"); l != "" {
		return strings.HasPrefix(strings.ToLower(l), "zh")
	}
	al := strings.ToLower(r.Header.Get("Accept-Language"))
	return strings.HasPrefix(strings.TrimSpace(al), "zh")
}

// badChatInput says in words what chat's validator refused (its field and code).
func badChatInput(e *chat.BadRequestError) *apiError {
	switch e.Field + "/" + e.Code {
	case "message/empty":
		return badRequest("Write a message or attach a file.", "请输入消息或添加文件。")
	case "message/too_long":
		return badRequest(fmt.Sprintf("The message is longer than %d characters.", chat.MaxMessageRunes),
			fmt.Sprintf("消息超过 %d 个字符。", chat.MaxMessageRunes))
	case "message/contains_nul":
		return badRequest("The message contains a NUL character.", "消息包含 NUL 字符。")
	case "message/not_utf8":
		return badRequest("The message is not valid UTF-8 text.", "消息不是有效的 UTF-8 文本。")
	case "file_ids/too_many_files":
		return badRequest(fmt.Sprintf("At most %d files per message.", chat.MaxFiles), fmt.Sprintf("每条消息最多 %d 个文件。", chat.MaxFiles))
	case "bot_name/too_long":
		return badRequest("bot_name is too long.", "bot_name 过长。")
	}
	return badRequest(e.Field+" must be a Coze id (digits).", e.Field+" 必须是 Coze ID（数字）。")
}
