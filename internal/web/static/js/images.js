// images: what an answer may make the browser fetch (issue 8 items 6 and 7).
// An answer is a bot's text, and a prompt injection can steer it: an image in it loads
// with no click, so its URL can carry the conversation to whoever owns the host, and
// an image of this app's own origin (![](/api/auth/logout)) would act as the viewer.
// So an answer never makes the browser request an app route, and its images load only
// from the hosts the server names (Coze's CDN for the configured region); any other
// image is a placeholder with its host and a button that opens it in a new tab.

/** isAppURL reports whether url, absolute or relative, points at this app's origin. */
export function isAppURL(url) {
  try {
    return new URL(String(url), location.href).origin === location.origin;
  } catch {
    return true; // unparsable: treat as ours, so it is refused
  }
}
