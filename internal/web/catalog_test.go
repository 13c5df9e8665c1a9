package web

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// catalogUses reads the package's Go files (not tests) and returns the
// catalog ids they name: error.<key> from fail, badRequest, pathID, tooMany,
// apiError{Key} and the tables knownErrors and cozeFailures; callback.<key>
// from the sign-in error pages; any id given to messages.text. A key that is
// not a literal is reported, so every id the server can answer is known.
func catalogUses(t *testing.T) (errorIDs, pageIDs map[string]bool) {
	t.Helper()
	errorIDs, pageIDs = map[string]bool{}, map[string]bool{}
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && slices.Contains([]string{"fail", "badRequest", "tooMany", "pathID", "firstRule", "render", "say", "paramsIn"}, fd.Name.Name) {
				continue // the builders themselves pass their caller's key on
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				lit := func(e ast.Expr) string {
					if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
						s, _ := strconv.Unquote(bl.Value)
						return s
					}
					t.Errorf("%s: catalog key %s is not a string literal", fset.Position(e.Pos()), exprName(e))
					return ""
				}
				switch n := n.(type) {
				case *ast.CallExpr:
					id, ok := n.Fun.(*ast.Ident)
					switch {
					case exprName(n.Fun) == "messages.text" || exprName(n.Fun) == "messages.lookup":
						pageIDs[lit(n.Args[1])] = true
					case !ok:
					case id.Name == "fail":
						if sel, ok := n.Args[1].(*ast.SelectorExpr); !ok || sel.Sel.Name != "key" { // a table's row: below
							errorIDs["error."+lit(n.Args[1])] = true
						}
					case id.Name == "tooMany":
						errorIDs["error."+lit(n.Args[0])] = true
					case id.Name == "badRequest":
						errorIDs["error.bad_request."+lit(n.Args[0])] = true
					case id.Name == "pathID":
						errorIDs["error.bad_request."+lit(n.Args[3])] = true
					case id.Name == "say":
						if _, ok := n.Args[1].(*ast.BasicLit); ok { // else callback.<Key>, below
							pageIDs[lit(n.Args[1])] = true
						}
					}
				case *ast.ValueSpec: // the tables of errors: {…, status, key}
					if slices.Contains([]string{"knownErrors", "cozeFailures"}, n.Names[0].Name) {
						for _, row := range n.Values[0].(*ast.CompositeLit).Elts {
							elts := row.(*ast.CompositeLit).Elts
							errorIDs["error."+lit(elts[len(elts)-1])] = true
						}
					}
				case *ast.KeyValueExpr:
					if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Key" {
						errorIDs["error."+lit(n.Value)] = true
					}
				case *ast.AssignStmt:
					for i, l := range n.Lhs {
						if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Key" {
							pageIDs["callback."+lit(n.Rhs[i])+".title"] = true
							pageIDs["callback."+lit(n.Rhs[i])+".body"] = true
						}
					}
				case *ast.BasicLit:
					if s, _ := strconv.Unquote(n.Value); n.Kind == token.STRING && strings.IndexFunc(s, isHan) >= 0 {
						t.Errorf("%s: Chinese text %s belongs in the catalog", fset.Position(n.Pos()), n.Value)
					}
				}
				return true
			})
		}
	}
	// callbackErrorPage{Key: …} literals land in errorIDs above; move them.
	for id := range errorIDs {
		if k, ok := strings.CutPrefix(id, "error."); ok && messages[langEn]["callback."+k+".title"] != "" {
			delete(errorIDs, id)
			pageIDs["callback."+k+".title"], pageIDs["callback."+k+".body"] = true, true
		}
	}
	return errorIDs, pageIDs
}

func exprName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprName(e.X) + "." + e.Sel.Name
	}
	return "(expression)"
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// pageOnly are the catalog's error ids that only the page raises itself.
var pageOnly = map[string]string{
	"error.generic":    "api.js: an error answer without a message",
	"error.network":    "api.js: fetch failed (code network)",
	"error.loadFailed": "sidebar.js: a list that did not load",
}

// Every error the server answers and every sign-in page it renders is in
// the catalog in both languages, with the same placeholders; every error
// and sign-in entry is used by the server (or listed in pageOnly), and
// every key the page names exists.
func TestCatalogCoversEveryCode(t *testing.T) {
	errorIDs, pageIDs := catalogUses(t)
	if len(errorIDs) < 40 || len(pageIDs) < 10 {
		t.Fatalf("found %d error ids and %d page ids in the Go files; the scan is broken", len(errorIDs), len(pageIDs))
	}
	for id := range errorIDs {
		pageIDs[id] = true
		if messages[langEn][id+".hint"] != "" {
			pageIDs[id+".hint"] = true
		}
	}
	for id := range pageIDs {
		for _, lang := range []string{langEn, langZh} {
			if messages[lang][id] == "" {
				t.Errorf("%s: %s is not in the catalog", lang, id)
			}
		}
	}
	ph := regexp.MustCompile(`\{\w+\}`)
	for id, en := range messages[langEn] {
		zh, ok := messages[langZh][id]
		if !ok {
			t.Errorf("zh-CN: %s is missing", id)
			continue
		}
		pe, pz := ph.FindAllString(en, -1), ph.FindAllString(zh, -1)
		slices.Sort(pe)
		slices.Sort(pz)
		if !slices.Equal(pe, pz) {
			t.Errorf("%s: placeholders differ: en %v, zh-CN %v", id, pe, pz)
		}
		if (strings.HasPrefix(id, "error.") || strings.HasPrefix(id, "callback.") || strings.HasPrefix(id, "export.")) && !pageIDs[id] && pageOnly[id] == "" {
			t.Errorf("%s is in the catalog but nothing in the server answers it", id)
		}
	}
	for id := range messages[langZh] {
		if _, ok := messages[langEn][id]; !ok {
			t.Errorf("en: %s is missing", id)
		}
	}
}

// The page names catalog keys with t('…') and data-i18n*="…";
// each must exist.
var trPrefix = regexp.MustCompile(`function tr\([^)]*\) \{ return t\('([\w.]+\.)' \+`)

func TestCatalogHasEveryPageKey(t *testing.T) {
	use := regexp.MustCompile(`\bt\('([\w.]+)'|data-i18n(?:-[\w-]+)?="([\w.]+)"|\btr\('([\w.]+)'()`)
	n := 0
	err := fs.WalkDir(os.DirFS("static"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "vendor") || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".html")) {
			return err
		}
		b, err := os.ReadFile(filepath.Join("static", p))
		// A module whose tr(key) is t('prefix.' + key) names prefix.key with tr('key').
		var prefix string
		if m := trPrefix.FindSubmatch(b); m != nil {
			prefix = string(m[1])
		}
		for _, m := range use.FindAllStringSubmatch(string(b), -1) {
			key := m[1] + m[2] + m[4]
			switch {
			case strings.HasSuffix(key, "."):
				continue // the prefix of tr itself
			case m[3] != "":
				key = prefix + m[3]
			}
			n++
			if messages[langEn][key] == "" || messages[langZh][key] == "" {
				t.Errorf("%s names %q, which the catalog lacks", p, key)
			}
		}
		return err
	})
	if err != nil || n < 100 {
		t.Fatalf("walk: %v, %d keys found; the scan is broken", err, n)
	}
}

// errorKey returns a JSON error answer's catalog entry (its key, or its
// code) and params.
func (r resp) errorKey() (string, map[string]any) {
	var v struct {
		Error struct {
			Code, Key string
			Params    map[string]any
		}
	}
	_ = json.Unmarshal(r.body, &v)
	if v.Error.Key == "" {
		return v.Error.Code, v.Error.Params
	}
	return v.Error.Key, v.Error.Params
}

// writeError answers {code, key, params, message, hint, field}: the message
// and hint said from the catalog in the request's language, the key and
// params for the page to say it itself.
func TestWriteErrorShape(t *testing.T) {
	tests := []struct {
		name, lang, wantLang string
		err                  error
		want                 map[string]any // besides message and hint
	}{
		{"params", "en-US,en;q=0.9", langEn, &apiError{Status: 400, Code: "bad_request", Key: "bad_request.message_too_long", Params: map[string]any{"max": 4000}, Field: "message"},
			map[string]any{"code": "bad_request", "key": "bad_request.message_too_long", "params": map[string]any{"max": 4000.0}, "field": "message"}},
		{"hint, Chinese", "zh-CN,zh;q=0.9", langZh, tooMany("too_many_uploads", 5*time.Second, "n", 2),
			map[string]any{"code": "too_many_uploads", "params": map[string]any{"n": 2.0, "seconds": 5.0}}},
		{"no key or params", "", langEn, errNotFound, map[string]any{"code": "not_found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/api/x", nil)
			r.Header.Set("Accept-Language", tt.lang)
			writeError(w, r, tt.err)
			var body struct{ Error map[string]any }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			ae, _ := toAPIError(tt.err)
			msg, hint := ae.render(tt.wantLang)
			want := maps.Clone(tt.want)
			want["message"] = msg
			if hint != "" {
				want["hint"] = hint
			}
			if !reflect.DeepEqual(body.Error, want) {
				t.Errorf("error = %v\nwant    %v", body.Error, want)
			}
			if strings.Contains(msg, "{") || tt.wantLang == langZh && !hasHan(msg+hint) {
				t.Errorf("message %q hint %q: placeholders left or wrong language", msg, hint)
			}
		})
	}
}

// chatEndKey finds the keys internal/chat gives an end event (key: "…", Key: "…",
// o.key = "…", and relayEndKey's returns); the page says them as stream.<key>.
var chatEndKey = regexp.MustCompile(`(?:\b[kK]ey:|\.key(?:, \w+\.message)? =|return) "((?:workflow\.)?[a-z_]+)"`)

// Every reason chat can give for a stream's end is in the catalog, in both
// languages, so neither the page nor an API answer falls back to an id.
func TestCatalogSaysEveryStreamEnd(t *testing.T) {
	files, _ := filepath.Glob("../chat/*.go")
	found := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range chatEndKey.FindAllStringSubmatch(string(src), -1) {
			if strings.HasPrefix(m[0], "return") && !strings.Contains(m[1], "relay_") {
				continue // a plain return of some other string
			}
			found[m[1]] = true
			for _, lang := range []string{langEn, langZh} {
				if _, ok := messages[lang]["stream."+m[1]]; !ok {
					t.Errorf("%s: stream.%s is missing in %s", name, m[1], lang)
				}
			}
		}
	}
	if len(found) < 20 {
		t.Errorf("found %d end keys in internal/chat (%v); the pattern no longer matches how chat names them", len(found), found)
	}
}
