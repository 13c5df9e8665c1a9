// Package e2e holds coze2app's browser tests: they start the app in-process in
// demo mode (the built-in Coze simulator mounted at /_sim), drive Debian's
// Chromium with chromedp through the whole product (sign-in on the simulator's
// consent page, streaming chat, workflows, history, Stop, language and theme, hostile bot
// replies) and save screenshots to $COZE2APP_ARTIFACTS.
package e2e
