package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxJSONBody bounds every JSON request body (catalog case 53).
const maxJSONBody = 64 << 10

// decodeJSON reads one JSON object into v: bounded size, valid UTF-8, no
// trailing data, unknown fields refused, and a nesting limit so a deeply
// nested body cannot eat the stack.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return badRequest("body_unreadable")
	}
	if !utf8.Valid(body) {
		return badRequest("body_not_utf8")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return badRequest("not_object")
	}
	if depth(body) > 32 {
		return badRequest("too_deep")
	}
	if duplicateKey(body) {
		// encoding/json keeps the last of repeated keys and matches names
		// case-insensitively, so {"bot_id":…,"BOT_ID":…} would let two
		// readers of one body disagree (catalog case 54).
		return badRequest("duplicate_key")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return malformedJSON(err)
	}
	if dec.More() {
		return badRequest("trailing_data")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("trailing_data")
	}
	return nil
}

// duplicateKey reports whether an object in body repeats a key, compared
// the way encoding/json matches field names (case-insensitively). Syntax
// errors are left to Decode: on input that is not JSON the answer does not
// matter. A scan over the bytes rather than json.Decoder.Token, which made
// about 50 allocations per request body (issue 11); FuzzDuplicateKey checks
// that both agree.
func duplicateKey(body []byte) bool {
	// The keys of the objects being read, innermost last: each frame's keys are
	// keys[start:]. Arrays of a typical body's size keep it all on the stack.
	type frame struct {
		obj   bool
		start int
		set   map[string]bool // the object's keys once it has more than maxLinearKeys
	}
	const maxLinearKeys = 16
	var frameRoom [16]frame
	var keyRoom [32][]byte
	stack, keys := frameRoom[:0], keyRoom[:0]
	wantKey := false // the next string in the top object is a key
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '{', '[':
			stack = append(stack, frame{obj: c == '{', start: len(keys)})
			wantKey = c == '{'
		case '}', ']':
			if len(stack) == 0 {
				return false
			}
			keys = keys[:stack[len(stack)-1].start]
			stack = stack[:len(stack)-1]
			wantKey = false
		case ',':
			wantKey = len(stack) > 0 && stack[len(stack)-1].obj
		case '"':
			end := stringEnd(body, i+1)
			if end < 0 {
				return false
			}
			if wantKey {
				k, ok := foldedKey(body[i : end+1])
				if !ok {
					return false
				}
				top := &stack[len(stack)-1]
				if top.set != nil {
					if top.set[string(k)] {
						return true
					}
					top.set[string(k)] = true
				} else {
					for _, seen := range keys[top.start:] {
						if bytes.Equal(seen, k) {
							return true
						}
					}
					keys = append(keys, k)
					if len(keys)-top.start > maxLinearKeys {
						top.set = make(map[string]bool, 2*maxLinearKeys)
						for _, seen := range keys[top.start:] {
							top.set[string(seen)] = true
						}
						keys = keys[:top.start]
					}
				}
				wantKey = false
			}
			i = end
		}
	}
	return false
}

// stringEnd returns the index of the quote that closes the JSON string whose
// contents start at b[from], or -1.
func stringEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// foldedKey unquotes a JSON string (quotes included) and folds it as
// encoding/json compares field names; false if it does not unquote. A plain
// lower-case ASCII key, the usual one, is returned as it is in quoted.
func foldedKey(quoted []byte) ([]byte, bool) {
	k := quoted[1 : len(quoted)-1]
	plain := true
	for _, c := range k {
		if c >= utf8.RuneSelf || c == '\\' || ('A' <= c && c <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return k, true
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return nil, false
	}
	return []byte(strings.ToLower(strings.ToUpper(s))), true // folds ſ and the Kelvin sign too
}

// malformedJSON names a decode error without echoing the input.
func malformedJSON(err error) *apiError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest("json_syntax", "offset", se.Offset)
	case errors.As(err, &te):
		return badRequest("json_type", "field", te.Field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("json_truncated")
	}
	// DisallowUnknownFields' error carries no type; its text names the field.
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok && len(f) < 80 && utf8.ValidString(f) {
		return badRequest("json_unknown_field", "field", f)
	}
	return badRequest("json_invalid")
}

// depth returns the maximum nesting depth of brackets outside strings.
func depth(b []byte) int {
	d, maxD := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			if i = stringEnd(b, i+1); i < 0 {
				return maxD // an unterminated string: nothing after it counts
			}
		case '{', '[':
			d++
			maxD = max(maxD, d)
		case '}', ']':
			d--
		}
	}
	return maxD
}

// writeJSON answers v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// mapJSON turns a list into its JSON shapes (never nil, so it encodes as []).
func mapJSON[T, J any](list []T, toJSON func(T) J) []J {
	out := make([]J, 0, len(list))
	for _, v := range list {
		out = append(out, toJSON(v))
	}
	return out
}

// writeList answers {key: [toJSON(item)…]}, or err.
func writeList[T, J any](w http.ResponseWriter, r *http.Request, key string, list []T, err error, toJSON func(T) J) {
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{key: mapJSON(list, toJSON)})
}
