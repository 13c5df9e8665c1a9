package e2e

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// testRestartHandOver ends the page's stream the way a restarting instance does
// (retry hint, then an end without id, code server_shutdown) after the first
// delta: the page does not stop there but resumes with Last-Event-ID — where
// several instances run, another one carries on — and shows the reply completed.
func testRestartHandOver(t *testing.T, b *browser) {
	b.click("#tab-bots")
	b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotAssistant))
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	eval[chromedp.Void](b, jsCutFirstStream(`const dec = new TextDecoder(), enc = new TextEncoder();
    let text = '', cut = false;
    const body = new ReadableStream({
      async pull(c) {
        for (;;) {
          if (cut) { c.close(); return; }
          const { value, done } = await reader.read();
          if (done) { c.close(); return; }
          text += dec.decode(value, { stream: true });
          const i = text.lastIndexOf('\n\n');
          if (i < 0) continue;
          const whole = text.slice(0, i + 2);
          text = text.slice(i + 2);
          if (whole.includes('event: delta')) {
            cut = true;
            reader.cancel();
            c.enqueue(enc.encode(whole + 'retry: 3000\n\nevent: end\ndata: {"status":"interrupted","code":"server_shutdown","message":"The server is restarting."}\n\n'));
          } else {
            c.enqueue(enc.encode(whole));
          }
          return;
        }
      },
    });`))
	b.setInput("#composer", "A reply across a restart")
	b.click("#send")
	if st := waitFor[string](b, "reply after the hand-over", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply status = %q, want complete (the page must resume after server_shutdown)", st)
	}
	resumes := eval[[]string](b, `window.__resumes`)
	if len(resumes) != 1 || !regexp.MustCompile(`/api/chat/[0-9]+/stream [1-9][0-9]*$`).MatchString(resumes[0]) {
		t.Errorf("resume requests %q, want one GET of the chat's stream with Last-Event-ID", resumes)
	}
}

// jsCutFirstStream wraps window.fetch once: the body of the next response is
// replaced by body, a ReadableStream that the JS statements in setup build from
// reader (a reader of the real body); the request after it — the page's resume
// — is recorded in window.__resumes as "URL Last-Event-ID".
func jsCutFirstStream(setup string) string {
	return `(() => { const real = window.fetch; window.__resumes = [];
window.fetch = (u, o) => {
  window.fetch = (u2, o2) => {
    window.fetch = real;
    window.__resumes.push(String(u2) + ' ' + ((o2 && o2.headers && o2.headers['Last-Event-ID']) || ''));
    return real(u2, o2);
  };
  return real(u, o).then((res) => {
    const reader = res.body.getReader();
    ` + setup + `
    return new Response(body, { status: res.status, headers: res.headers });
  });
}; })()`
}
