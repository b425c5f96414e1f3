package backup

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// SheetPasswordFile is where the recovery sheet tells whoever restores to
// write the backup password on the new machine.
const SheetPasswordFile = "/root/restic-password"

// Sheet is what a recovery sheet shows: enough, with a Ruche image, to
// bring the box back on new hardware.
type Sheet struct {
	Pack *provision.Pack
	// Root is the box's root ("/" on a box), for where local
	// repositories really are.
	Root string
	// Password is the backup password, shown on the sheet on purpose.
	Password string
	// Revision is the pack revision the box runs, 0 when unknown.
	Revision int
	// Printed is when the sheet is made.
	Printed time.Time
}

var (
	msgSheetNoPassword = i18n.M{
		FR: "le secret %q des sauvegardes est illisible : la fiche serait inutile sans lui",
		EN: "the backups' secret %q cannot be read: the sheet would be useless without it",
	}
	msgSheetNoTargets = i18n.M{
		FR: "le pack n'a aucune cible de sauvegarde (backup.targets) : il n'y a rien à restaurer",
		EN: "the pack has no backup target (backup.targets): there is nothing to restore from",
	}
)

// NewSheet reads what the sheet of the box at root (live pack p) shows.
func NewSheet(root string, p *provision.Pack, now time.Time) (*Sheet, error) {
	if len(p.Backup.Targets) == 0 {
		return nil, i18n.Errorf(msgSheetNoTargets)
	}
	pw, err := provision.ReadSecret(root, p.Backup.PasswordSecret)
	if err != nil || len(pw) == 0 {
		return nil, i18n.Wrap(err, msgSheetNoPassword, p.Backup.PasswordSecret)
	}
	s := &Sheet{Pack: p, Root: root, Password: string(pw), Printed: now}
	if revs, err := provision.ListRevisions(root); err == nil && len(revs) > 0 {
		s.Revision = revs[len(revs)-1].Number
	}
	return s, nil
}

// sheetText is the sheet's words in one language.
type sheetText struct {
	title, box, printed, revision                    string
	warning                                          []string
	password, repos                                  string
	local, localRoot, removable, sftp, sftpKey, rest string
	steps                                            string
	stepImage, stepReach, stepReachDisk              string
	stepReachNet, stepPassword, stepPasswordHow      string
	stepRestore, stepRestoreEach, stepSFTP, stepUp   string
	stepCheck, stepForget                            string
	help, noOffsite                                  string
}

var sheetTexts = map[i18n.Lang]sheetText{
	i18n.FR: {
		title:    "FICHE DE RÉCUPÉRATION — %s",
		box:      "Box : %s",
		printed:  "Imprimée le %s",
		revision: "Révision du pack : %d",
		warning: []string{
			"CETTE FICHE CONTIENT LE MOT DE PASSE DES SAUVEGARDES.",
			"C'est le seul endroit où Ruche l'affiche, exprès : sans lui les sauvegardes",
			"sont illisibles, avec lui n'importe qui peut les lire. Imprimez-la, rangez-la",
			"sous clé, ailleurs que la box (chez le trésorier, à l'association de soutien).",
			"Ne l'envoyez pas par e-mail, ne la photographiez pas, ne la laissez pas sur la box.",
		},
		password:        "Mot de passe des sauvegardes (restic) :",
		repos:           "Dépôts de sauvegarde :",
		local:           "dossier sur le disque de la box : perdu avec elle, inutile pour une machine neuve",
		localRoot:       "ici : %s",
		removable:       "disque USB : le brancher et le monter sur %s",
		sftp:            "serveur SFTP ; clé d'hôte épinglée : %s",
		sftpKey:         "la clé SSH de la box (secret « %s ») est dans les sauvegardes elles-mêmes : gardez-en une copie avec cette fiche, ou faites autoriser une nouvelle clé par l'administrateur du serveur",
		rest:            "serveur REST de restic",
		steps:           "Restaurer sur une machine neuve :",
		stepImage:       "Flasher une image Ruche sur la machine neuve (docs/ ou l'association de soutien), la démarrer, ouvrir un terminal root.",
		stepReach:       "Atteindre un dépôt :",
		stepReachDisk:   "disque USB : le brancher, puis  mount /dev/sdX1 %s  (lsblk montre sdX) ;",
		stepReachNet:    "serveur : vérifier que la machine est sur le réseau.",
		stepPassword:    "Écrire le mot de passe dans un fichier lisible par root seul :",
		stepPasswordHow: "(taper le mot de passe ci-dessus, Entrée, puis Ctrl+D)",
		stepRestore:     "Restaurer le pack et toutes les données (la box vérifie chaque fichier) :",
		stepRestoreEach: "depuis « %s » :",
		stepSFTP:        "(avec la copie de la clé SSH dans /root/ruche-key, mode 0600)",
		stepUp:          "Démarrer la box :  ruche up /etc/ruche/pack.yaml  (ou redémarrer la machine : son service le lance).",
		stepCheck:       "Vérifier le wiki, les sites et le panneau ; lancer  ruche backup now  puis  ruche backup drill.",
		stepForget:      "Effacer le fichier du mot de passe :  shred -u " + SheetPasswordFile,
		help:            "Aide : docs/backup.md (« Restaurer sur une machine neuve »).",
		noOffsite:       "ATTENTION : toutes les sauvegardes sont sur le disque de la box ; s'il lâche, tout est perdu. Ajoutez un disque USB ou un serveur aux cibles du pack.",
	},
	i18n.EN: {
		title:    "RECOVERY SHEET — %s",
		box:      "Box: %s",
		printed:  "Printed on %s",
		revision: "Pack revision: %d",
		warning: []string{
			"THIS SHEET HOLDS THE PASSWORD OF THE BACKUPS.",
			"It is the one place Ruche shows it, on purpose: without it the backups cannot",
			"be read, with it anybody can read them. Print it, keep it locked away, away",
			"from the box (with the treasurer, at the support association). Do not mail it,",
			"do not photograph it, do not leave it on the box.",
		},
		password:        "Backup password (restic):",
		repos:           "Backup repositories:",
		local:           "folder on the box's own disk: lost with it, no use for new hardware",
		localRoot:       "here: %s",
		removable:       "USB disk: plug it in and mount it on %s",
		sftp:            "SFTP server; pinned host key: %s",
		sftpKey:         "the box's SSH key (secret %q) is inside the backups themselves: keep a copy of it with this sheet, or have the server's administrator allow a new key",
		rest:            "restic REST server",
		steps:           "Restore on new hardware:",
		stepImage:       "Flash a Ruche image onto the new machine (docs/ or the support association), start it, open a root shell.",
		stepReach:       "Reach a repository:",
		stepReachDisk:   "USB disk: plug it in, then  mount /dev/sdX1 %s  (lsblk shows sdX);",
		stepReachNet:    "server: check that the machine is on the network.",
		stepPassword:    "Write the password into a file only root can read:",
		stepPasswordHow: "(type the password above, Enter, then Ctrl+D)",
		stepRestore:     "Restore the pack and all the data (the box verifies every file):",
		stepRestoreEach: "from %q:",
		stepSFTP:        "(with the copy of the SSH key in /root/ruche-key, mode 0600)",
		stepUp:          "Start the box:  ruche up /etc/ruche/pack.yaml  (or restart the machine: its service runs it).",
		stepCheck:       "Check the wiki, the sites and the panel; run  ruche backup now  then  ruche backup drill.",
		stepForget:      "Erase the password file:  shred -u " + SheetPasswordFile,
		help:            "Help: docs/backup.md (\"Restore on new hardware\").",
		noOffsite:       "WARNING: every backup is on the box's own disk; if it fails, everything is lost. Add a USB disk or a server to the pack's targets.",
	},
}

// Write prints the sheet in each language of langs, one page each (a form
// feed between them).
func (s *Sheet) Write(w io.Writer, langs ...i18n.Lang) error {
	var b strings.Builder
	for i, lang := range langs {
		if i > 0 {
			b.WriteString("\f\n")
		}
		s.write(&b, lang)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (s *Sheet) write(b *strings.Builder, lang i18n.Lang) {
	t := sheetTexts[lang]
	p := s.Pack
	line := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	rule := strings.Repeat("=", 78)

	line(t.title, p.Association.Name)
	line(rule)
	box := p.Box.Hostname
	if p.Box.Domain != "" {
		box += " (" + p.Box.Domain + ")"
	}
	line(t.box, box)
	line(t.printed, s.Printed.Format("2006-01-02 15:04 MST"))
	if s.Revision > 0 {
		line(t.revision, s.Revision)
	}
	line("")
	for _, w := range t.warning {
		line("  !! %s", w)
	}
	line("")
	line("%s", t.password)
	line("")
	line("      %s", s.Password)
	line("")
	line("%s", t.repos)
	var reachable []provision.BackupTarget
	var disks []string
	for _, target := range p.Backup.Targets {
		line("  - %s: %s", target.Name, target.Repository)
		switch {
		case isLocal(target.Repository) && target.Removable:
			mount := filepath.Dir(strings.TrimPrefix(target.Repository, "local:"))
			line("      %s", fmt.Sprintf(t.removable, mount))
			reachable = append(reachable, target)
			disks = append(disks, mount)
		case isLocal(target.Repository):
			line("      %s", t.local)
		case hasScheme(target.Repository, "sftp:"):
			line("      %s", fmt.Sprintf(t.sftp, target.HostKey))
			line("      %s", fmt.Sprintf(t.sftpKey, target.KeySecret))
			reachable = append(reachable, target)
		case hasScheme(target.Repository, "rest:"):
			line("      %s", t.rest)
			reachable = append(reachable, target)
		default:
			reachable = append(reachable, target)
		}
		if isLocal(target.Repository) && s.Root != "/" && s.Root != "" {
			line("      %s", fmt.Sprintf(t.localRoot, TargetLocation(s.Root, target.Repository)))
		}
	}
	line("")
	if len(reachable) == 0 {
		line("  !! %s", t.noOffsite)
		line("")
	}
	line("%s", t.steps)
	line("  1. %s", t.stepImage)
	line("  2. %s", t.stepReach)
	for _, d := range disks {
		line("       %s", fmt.Sprintf(t.stepReachDisk, d))
	}
	line("       %s", t.stepReachNet)
	line("  3. %s", t.stepPassword)
	line("       umask 077; cat > %s", SheetPasswordFile)
	line("       %s", t.stepPasswordHow)
	line("  4. %s", t.stepRestore)
	from := reachable
	if len(from) == 0 {
		from = p.Backup.Targets
	}
	for _, target := range from {
		line("       %s", fmt.Sprintf(t.stepRestoreEach, target.Name))
		repo := strings.TrimPrefix(target.Repository, "local:")
		cmd := fmt.Sprintf("ruche backup restore latest --repo '%s' --password-file %s --host %s", repo, SheetPasswordFile, p.Box.Hostname)
		if hasScheme(target.Repository, "sftp:") {
			cmd += fmt.Sprintf(" --ssh-key /root/ruche-key --host-key '%s'", target.HostKey)
			line("         %s", cmd)
			line("         %s", t.stepSFTP)
			continue
		}
		line("         %s", cmd)
	}
	line("  5. %s", t.stepUp)
	line("  6. %s", t.stepCheck)
	line("  7. %s", t.stepForget)
	line("")
	line("%s", t.help)
}
