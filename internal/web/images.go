package web

import (
	"bytes"
	"html"
	"strings"
)

// Images in answers load only from Coze's own CDN for the configured region
// and from the app itself (issue 8 item 6): a prompt-injected bot could
// otherwise put the conversation into an image URL on any host and have the
// browser send it there with no click. The page applies the same list
// (js/images.js, through a <meta> in index.html) and shows any other image
// as a placeholder with its host; CSP img-src enforces it.

// cozeImageHosts are the CDN hosts Coze serves bot icons, avatars and
// generated images from, per region (seen in recorded answers and the
// official SDKs' examples: p*-*-sign.byteimg.com, lf*-appstore-sign.
// oceancloudapi.com and *.coze.cn on coze.cn; p*-*-sign-sg.ciciai.com and
// *.coze.com on coze.com).
var cozeImageHosts = map[string][]string{
	"cn":  {"https://*.byteimg.com", "https://*.oceancloudapi.com", "https://*.coze.cn", "https://*.byteacctimg.com"},
	"com": {"https://*.ciciai.com", "https://*.ciciaicdn.com", "https://*.coze.com"},
}

// demoImagePath is where the built-in simulator, demo mode's "Coze CDN",
// serves its images on our own origin.
const demoImagePath = "/_sim/assets/"

// imageSources lists where answer images may come from: CSP host sources,
// plus a same-origin path prefix in demo mode.
func imageSources(region string, demo bool) []string {
	if demo {
		return []string{demoImagePath}
	}
	if hosts, ok := cozeImageHosts[region]; ok {
		return hosts
	}
	return cozeImageHosts["cn"]
}

// buildCSP is the page's policy with img-src listing exactly 'self' and
// the region's image hosts; script-src adds the hash of index.html's inline
// import map (static.go), the one inline script.
func buildCSP(sources []string, importMapCSP string) string {
	img := []string{"'self'"}
	for _, s := range sources {
		if strings.HasPrefix(s, "https://") {
			img = append(img, s)
		}
	}
	return "default-src 'self'; script-src 'self' " + importMapCSP + "; style-src 'self'; " +
		"img-src " + strings.Join(img, " ") + "; connect-src 'self'; font-src 'self'; object-src 'none'; " +
		"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
}

// withImageSources puts the list into index.html for js/images.js.
func withImageSources(index []byte, sources []string) []byte {
	meta := `<meta name="coze2app-image-sources" content="` + html.EscapeString(strings.Join(sources, " ")) + `">`
	return bytes.Replace(index, []byte("<head>"), []byte("<head>\n  "+meta), 1)
}
