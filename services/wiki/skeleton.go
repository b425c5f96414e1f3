package wiki

import (
	"fmt"

	"github.com/ruche-box/ruche/provision"
)

// skeleton is the starting content of a new wiki, by page file name, in the
// pack's language. The files are rendered under ConfDir/skeleton (Ruche's
// own) and copied into the savedir by php-fpm's start script with cp -n:
// a page that exists, edited by users, is never overwritten.
func skeleton(in *provision.RenderInput) map[string]string {
	name := in.Pack.Association.Name
	host := in.Pack.Box.Hostname
	if in.Pack.Locale() == "en" {
		return map[string]string{
			"start.txt": fmt.Sprintf(`====== Welcome to the wiki of %s ======

This wiki is the shared memory of the association: write down what you know so that others find it.

  * [[welcome_book|Welcome book]]: for new volunteers (who does what, keys, contacts).
  * [[using_the_box|Using the box]]: the wiki, the websites, backups, getting help.
`, name),
			"welcome_book.txt": fmt.Sprintf(`====== Welcome book ======

Welcome to %s! This page helps new volunteers find their way. Complete it.

===== Who does what =====
^ Who ^ What ^ How to reach them ^
|  |  |  |

===== Keys and access =====
Who holds the keys, the alarm code (never write the code itself here), opening hours.

===== Contacts =====
  * The association: %s
`, name, in.Pack.Association.Contact),
			"using_the_box.txt": fmt.Sprintf(`====== Using the box ======

The box is the association's server on the local network.

  * The panel: http://%[1]s.local (users, websites, help requests).
  * This wiki: http://wiki-%[1]s.local. Log in with your panel account.
  * Backups run every night; a technician can find your data again after a breakdown.
  * Something wrong? Press "help" in the panel: it opens a ticket for the support technicians.
`, host),
		}
	}
	return map[string]string{
		"accueil.txt": fmt.Sprintf(`====== Bienvenue sur le wiki de %s ======

Ce wiki est la mémoire partagée de l'association : notez-y ce que vous savez pour que d'autres le retrouvent.

  * [[livre_d_accueil|Livre d'accueil]] : pour les nouveaux bénévoles (qui fait quoi, clés, contacts).
  * [[utiliser_la_box|Utiliser la box]] : le wiki, les sites, les sauvegardes, demander de l'aide.
`, name),
		"livre_d_accueil.txt": fmt.Sprintf(`====== Livre d'accueil ======

Bienvenue à %s ! Cette page aide les nouveaux bénévoles à trouver leurs repères. Complétez-la.

===== Qui fait quoi =====
^ Qui ^ Quoi ^ Comment le joindre ^
|  |  |  |

===== Clés et accès =====
Qui a les clés, le code de l'alarme (n'écrivez jamais le code lui-même ici), les horaires.

===== Contacts =====
  * L'association : %s
`, name, in.Pack.Association.Contact),
		"utiliser_la_box.txt": fmt.Sprintf(`====== Utiliser la box ======

La box est le serveur de l'association sur le réseau local.

  * Le panneau : http://%[1]s.local (utilisateurs, sites, demandes d'aide).
  * Ce wiki : http://wiki-%[1]s.local. Connectez-vous avec votre compte du panneau.
  * Les sauvegardes tournent chaque nuit : un technicien peut retrouver vos données après une panne.
  * Un problème ? Appuyez sur « aide » dans le panneau : cela ouvre un ticket pour les techniciens.
`, host),
	}
}
