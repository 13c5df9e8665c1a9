package coze

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

const userAgent = "coze2app (+https://github.com/coze2app/coze2app)"

// apiRequest describes one OpenAPI call.
type apiRequest struct {
	method, path string
	query        url.Values
	body         any // JSON-encoded when non-nil
	// raw opens a pre-encoded body (multipart) from its start; excludes body. A func, so
	// that the retry after a refused token sends the whole body again.
	raw         func() (io.Reader, error)
	rawLen      int64  // raw's length in bytes: sent as Content-Length, never chunked
	contentType string // for raw
	src         TokenSource
	perm        string      // the OAuth permission the endpoint needs, put on its *APIError
	tok         AccessToken // set per attempt from src
	out         any         // callData: decode data into it in the same pass as the envelope
}

// apiResponse is a successful (code 0) OpenAPI response.
type apiResponse struct {
	status int
	body   []byte
	env    envelope
	logID  string
	done   bool // data already decoded into apiRequest.out
}

// call performs a non-stream OpenAPI call: per-call timeout, bounded body, retries for
// idempotent GETs, success decided from the body (coze-protocol §3.1).
func (c *Client) call(ctx context.Context, r apiRequest) (*apiResponse, error) {
	res, err := c.callRaw(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, needs(r.perm, err))
	}
	return res, nil
}

func (c *Client) callRaw(ctx context.Context, r apiRequest) (*apiResponse, error) {
	return withToken(ctx, r.src, func(tok AccessToken) (*apiResponse, error) {
		r.tok = tok
		return c.callOnce(ctx, r)
	})
}

// callOnce performs r with r.tok, retrying idempotent GETs on transport failures.
func (c *Client) callOnce(ctx context.Context, r apiRequest) (*apiResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	retries := 0
	if r.method == http.MethodGet {
		retries = c.retries
	}
	for attempt := 0; ; attempt++ {
		req, err := c.newRequest(ctx, r, payload)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if attempt < retries && retryableTransport(ctx, err) {
				if sleepCtx(ctx, c.backoff(attempt)) == nil {
					continue
				}
			}
			return nil, err
		}
		body, err := readBounded(resp.Body, c.maxBody)
		resp.Body.Close()
		if err != nil {
			if errors.Is(err, ErrBodyTooLarge) {
				return nil, err
			}
			if attempt < retries && ctx.Err() == nil {
				if sleepCtx(ctx, c.backoff(attempt)) == nil {
					continue
				}
			}
			return nil, fmt.Errorf("read response: %w", err)
		}
		if attempt < retries && (resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests) {
			if sleepCtx(ctx, retryDelay(resp.Header, c.backoff(attempt))) == nil {
				continue
			}
		}
		if r.out != nil {
			if logID, ok := fastDecode(resp.StatusCode, resp.Header, body, r.out); ok {
				return &apiResponse{status: resp.StatusCode, body: body, logID: logID, done: true}, nil
			}
		}
		env, logID, err := decodeEnvelope(resp.StatusCode, resp.Header, body, string(r.tok))
		if err != nil {
			return nil, err
		}
		return &apiResponse{status: resp.StatusCode, body: body, env: env, logID: logID}, nil
	}
}

func (c *Client) newRequest(ctx context.Context, r apiRequest, payload []byte) (*http.Request, error) {
	var body io.Reader
	if r.raw != nil {
		var err error
		if body, err = r.raw(); err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
	} else if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.endpoint(r.path, r.query), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+string(r.tok))
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	switch {
	case r.raw != nil:
		req.Header.Set("Content-Type", r.contentType)
		req.ContentLength = r.rawLen
	case payload != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// retryDelay honours a short Retry-After (seconds), else the backoff.
func retryDelay(h http.Header, d time.Duration) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s >= 0 && s <= 2 {
		return time.Duration(s) * time.Second
	}
	return d
}

// readBounded reads at most limit bytes, failing with ErrBodyTooLarge beyond it.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w (limit %d bytes)", ErrBodyTooLarge, limit)
	}
	return b, nil
}

// decodeEnvelope decides success from the body (coze-protocol §3.1): a non-zero code is an
// *APIError whatever the status; a non-JSON body is a transport failure (Code 0).
func decodeEnvelope(status int, h http.Header, body []byte, secrets ...string) (envelope, string, error) {
	logID := h.Get("X-Tt-Logid")
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		msg := "invalid JSON response body"
		if status >= 400 {
			msg = "non-JSON response body"
			if t := http.StatusText(status); t != "" {
				msg += " (" + t + ")"
			}
		}
		return env, logID, &APIError{HTTPStatus: status, Msg: msg, LogID: logID}
	}
	if logID == "" {
		logID = env.Detail.LogID
	}
	if env.Code != nil && *env.Code != 0 {
		return env, logID, &APIError{HTTPStatus: status, Code: int(*env.Code), Msg: scrub(env.Msg, secrets...), LogID: logID}
	}
	if env.Code == nil && status >= 400 {
		msg := scrub(env.Msg, secrets...)
		if msg == "" {
			msg = http.StatusText(status)
		}
		return env, logID, &APIError{HTTPStatus: status, Msg: msg, LogID: logID}
	}
	return env, logID, nil
}

// callData performs r and decodes the envelope's data into out (when present).
func (c *Client) callData(ctx context.Context, r apiRequest, out any) error {
	r.out = out
	res, err := c.call(ctx, r)
	if err != nil {
		return err
	}
	if res.done || out == nil || !hasData(res.env.Data) {
		return nil
	}
	if err := json.Unmarshal(res.env.Data, out); err != nil {
		return fmt.Errorf("%s %s: decode data: %w", r.method, r.path, err)
	}
	return nil
}

// callInto is callData into a new T, returned with the call's error.
func callInto[T any](ctx context.Context, c *Client, r apiRequest) (T, error) {
	var out T
	err := c.callData(ctx, r, &out)
	return out, err
}

// fastDecode decodes a successful envelope and its data into out in one pass. On any
// doubt (error code, undecodable data) it zeroes out and reports false so that the
// general path builds the precise error.
func fastDecode(status int, h http.Header, body []byte, out any) (string, bool) {
	var w struct {
		Code   *flexInt `json:"code"`
		Data   any      `json:"data"`
		Detail struct {
			LogID string `json:"logid"`
		} `json:"detail"`
	}
	w.Data = out
	err := json.Unmarshal(body, &w)
	if err != nil || (w.Code != nil && *w.Code != 0) || (w.Code == nil && status >= 400) {
		if v := reflect.ValueOf(out); v.Kind() == reflect.Pointer && !v.IsNil() {
			v.Elem().SetZero()
		}
		return "", false
	}
	logID := h.Get("X-Tt-Logid")
	if logID == "" {
		logID = w.Detail.LogID
	}
	return logID, true
}

// decodeBody decodes the whole response body into out (for the envelope exceptions of §2).
func decodeBody(r apiRequest, res *apiResponse, out any) error {
	if err := json.Unmarshal(res.body, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", r.method, r.path, err)
	}
	return nil
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setIntIf(q url.Values, k string, v int) {
	if v > 0 {
		q.Set(k, strconv.Itoa(v))
	}
}
