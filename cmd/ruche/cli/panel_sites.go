package cli

import (
	"github.com/ruche-box/ruche/services/panel"
	"github.com/ruche-box/ruche/services/sites"
)

// panelSiteTemplates is the panel's Options.SiteTemplates: the templates
// services/sites knows, in the panel's own types (services never import
// each other; the daemon carries what one knows to the other).
func panelSiteTemplates() []panel.SiteTemplate {
	var out []panel.SiteTemplate
	for _, t := range sites.Templates() {
		st := panel.SiteTemplate{Name: t.Name, Description: t.Description}
		for _, prm := range t.Params {
			st.Params = append(st.Params, panel.SiteParam{Name: prm.Name, Label: prm.Label, Hint: prm.Hint, Multiline: prm.Multiline})
		}
		out = append(out, st)
	}
	return out
}

// panelRenderMarkdown is the panel's Options.RenderMarkdown: the sites'
// own renderer, so that a preview shows a page as the site will.
var panelRenderMarkdown = sites.Markdown

// panelSiteUploadsDir is the panel's Options.SiteUploadsDir: the folder the
// site serves at /uploads/, relative to the root.
var panelSiteUploadsDir = sites.UploadsDir
