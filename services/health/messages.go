package health

import "github.com/ruche-box/ruche/provision/i18n"

// What the mail checks say, for a volunteer who has never seen a DNS zone:
// what is (Text), then what to do or to ask of the domain's host (…Do).
// docs/doctor.md explains each one for technicians, with example records.
var (
	msgNotDomain = i18n.M{
		FR: "« %s » n'est pas un nom de domaine",
		EN: "%q is not a domain name",
	}
	msgNotDomainDo = i18n.M{
		FR: "corrigez-le dans le pack (mail.domains)",
		EN: "correct it in the pack (mail.domains)",
	}

	msgDNSUnreachable = i18n.M{
		FR: "le DNS est injoignable : MX, SPF et DMARC de %s ne sont pas vérifiés (%s)",
		EN: "DNS cannot be reached: MX, SPF and DMARC of %s are not checked (%s)",
	}
	msgDNSIsolated = i18n.M{
		FR: "le DNS est injoignable : le serveur DNS de la box ne connaît pas les noms d'Internet (pas même sa racine) ; MX, SPF et DMARC de %s ne sont pas vérifiés",
		EN: "DNS cannot be reached: the box's DNS server does not know the Internet's names (not even its root); MX, SPF and DMARC of %s are not checked",
	}
	msgDNSUnreachableDo = i18n.M{
		FR: "vérifiez que la box est reliée à Internet (câble, box du fournisseur d'accès), puis vérifiez à nouveau",
		EN: "check that the box is connected to the Internet (cable, the provider's router), then check again",
	}
	msgDNSFailed = i18n.M{
		FR: "le serveur DNS n'a pas su répondre pour %s (%s)",
		EN: "the DNS server could not answer for %s (%s)",
	}
	msgDNSFailedDo = i18n.M{
		FR: "réessayez plus tard ; si cela dure, demandez à l'hébergeur du domaine de vérifier sa zone DNS",
		EN: "try again later; if it lasts, ask the domain's host to check its DNS zone",
	}

	msgNoDomain = i18n.M{
		FR: "le domaine %s n'existe pas dans le DNS (ou n'y a encore aucun enregistrement)",
		EN: "the domain %s does not exist in the DNS (or has no record there yet)",
	}
	msgNoDomainDo = i18n.M{
		FR: "vérifiez son orthographe dans le pack (mail.domains), puis qu'il est bien acheté et que sa zone DNS est active chez l'hébergeur",
		EN: "check its spelling in the pack (mail.domains), then that it is registered and its DNS zone is active at the host",
	}

	msgNoMX = i18n.M{
		FR: "pas d'enregistrement MX : personne ne peut encore écrire à une adresse @%s",
		EN: "no MX record: nobody can send mail to an address @%s yet",
	}
	msgNoMXDo = i18n.M{
		FR: "demandez à l'hébergeur du domaine d'activer le courriel (il ajoute alors le MX de ses serveurs), puis créez-y les mêmes redirections que les alias du pack",
		EN: "ask the domain's host to turn mail on (it then adds an MX for its mail servers), then create there the same redirections as the pack's aliases",
	}
	msgNullMX = i18n.M{
		FR: "le domaine %s déclare ne recevoir aucun courriel (MX « . »)",
		EN: "the domain %s says it receives no mail at all (MX \".\")",
	}
	msgNullMXDo = i18n.M{
		FR: "si ses adresses doivent recevoir du courriel, demandez à l'hébergeur de remplacer ce MX par celui de ses serveurs de courriel",
		EN: "if its addresses should receive mail, ask the host to replace this MX with its mail servers'",
	}
	msgMXLAN = i18n.M{
		FR: "le MX %s mène à une adresse du réseau local (%s) : Internet ne peut pas l'atteindre, le courriel n'arrive pas",
		EN: "the MX %s leads to a local network address (%s): the Internet cannot reach it, mail does not arrive",
	}
	msgMXLANDo = i18n.M{
		FR: "chez l'hébergeur du domaine, faites pointer le MX vers ses serveurs de courriel et créez-y les mêmes redirections que les alias du pack",
		EN: "at the domain's host, point the MX to its mail servers and create there the same redirections as the pack's aliases",
	}
	msgMXNoAddr = i18n.M{
		FR: "le MX (%s) ne mène à aucune adresse : le courriel n'arrive pas",
		EN: "the MX (%s) leads to no address: mail does not arrive",
	}
	msgMXNoAddrDo = i18n.M{
		FR: "corrigez le nom du MX chez l'hébergeur du domaine (c'est en général celui de ses serveurs de courriel)",
		EN: "correct the MX's name at the domain's host (usually its mail servers' name)",
	}
	msgMXBox = i18n.M{
		FR: "le MX pointe vers cette box (%s), mais une box sur un réseau local ne peut en général pas recevoir le courriel d'Internet : son adresse n'est pas fixe et les fournisseurs d'accès bloquent le port 25",
		EN: "the MX points to this box (%s), but a box on a local network usually cannot receive mail from the Internet: its address is not fixed and Internet providers block port 25",
	}
	msgMXBoxDo = i18n.M{
		FR: "écrivez à un alias depuis une messagerie extérieure (un webmail) ; si rien n'arrive, remettez le MX vers les serveurs de courriel de l'hébergeur et créez-y les mêmes redirections que les alias du pack",
		EN: "write to an alias from an outside mailbox (a webmail); if nothing arrives, point the MX back to the host's mail servers and create there the same redirections as the pack's aliases",
	}
	msgMXHost = i18n.M{
		FR: "le MX pointe vers %s, pas vers cette box : le courriel venu d'Internet arrive chez votre hébergeur, et les alias de la box ne servent qu'au courriel envoyé depuis la box",
		EN: "the MX points to %s, not to this box: mail from the Internet arrives at your host, and the box's aliases only serve mail sent from the box",
	}
	msgMXHostDo = i18n.M{
		FR: "gardez les alias chez l'hébergeur : créez-y les mêmes redirections que dans le pack (ou demandez-lui de faire suivre ces adresses vers leurs destinataires)",
		EN: "keep the aliases at your host: create there the same redirections as in the pack (or ask it to forward these addresses to their recipients)",
	}

	msgNoSPF = i18n.M{
		FR: "pas d'enregistrement SPF : le courriel que la box envoie au nom de @%s risque d'être classé indésirable, voire refusé",
		EN: "no SPF record: mail the box sends as @%s may be classed as spam, or refused",
	}
	msgNoSPFDo = i18n.M{
		FR: "demandez à l'hébergeur d'ajouter sur %s l'enregistrement TXT « %s » (si le fournisseur de votre relais donne un include: à mettre, prenez le sien)",
		EN: "ask the host to add on %s the TXT record %q (if your relay's provider gives an include: to use, use theirs)",
	}
	msgManySPF = i18n.M{
		FR: "%d enregistrements SPF sur %s : il n'en faut qu'un, sinon les destinataires tiennent le SPF pour faux, pour tout le courriel",
		EN: "%d SPF records on %s: there must be only one, otherwise receivers take the SPF as wrong, for all mail",
	}
	msgManySPFDo = i18n.M{
		FR: "demandez à l'hébergeur de les fusionner en un seul TXT : un seul « v=spf1 », tous les mécanismes, un seul « ~all » à la fin",
		EN: "ask the host to merge them into one TXT record: one \"v=spf1\", all the mechanisms, one \"~all\" at the end",
	}
	msgSPFPlusAll = i18n.M{
		FR: "le SPF de %s finit par « +all » : il laisse n'importe qui envoyer du courriel en votre nom",
		EN: "the SPF of %s ends with \"+all\": it lets anyone send mail in your name",
	}
	msgSPFPlusAllDo = i18n.M{
		FR: "demandez à l'hébergeur de remplacer « +all » par « ~all »",
		EN: "ask the host to replace \"+all\" with \"~all\"",
	}
	msgSPFNoRelay = i18n.M{
		FR: "le SPF de %s ne mentionne pas votre relais (%s) : le courriel que la box envoie par lui échoue au contrôle SPF et risque d'être classé indésirable",
		EN: "the SPF of %s does not mention your relay (%s): mail the box sends through it fails the SPF check and may be classed as spam",
	}
	msgSPFNoRelayStrict = i18n.M{
		FR: "le SPF de %s ne mentionne pas votre relais (%s), et la politique DMARC (%s) demande d'écarter ce qui échoue : le courriel que la box envoie sera mis en indésirable ou refusé",
		EN: "the SPF of %s does not mention your relay (%s), and the DMARC policy (%s) asks to set aside what fails: mail the box sends will be put in spam or refused",
	}
	msgSPFNoRelayDo = i18n.M{
		FR: "demandez à l'hébergeur d'ajouter « %s » (ou l'include: que donne le fournisseur du relais) : « %s »",
		EN: "ask the host to add %q (or the include: your relay's provider gives): %q",
	}
	msgSPFOK = i18n.M{FR: "SPF : %s", EN: "SPF: %s"}

	msgNoDMARC = i18n.M{
		FR: "pas d'enregistrement DMARC sur %s : les grandes messageries (Gmail, Outlook) en demandent un et peuvent écarter votre courriel",
		EN: "no DMARC record for %s: large mailboxes (Gmail, Outlook) ask for one and may set your mail aside",
	}
	msgNoDMARCDo = i18n.M{
		FR: "demandez à l'hébergeur d'ajouter sur _dmarc.%s l'enregistrement TXT « v=DMARC1; p=none » : p=none ne bloque rien, il observe ; c'est le bon début",
		EN: "ask the host to add on _dmarc.%s the TXT record \"v=DMARC1; p=none\": p=none blocks nothing, it observes; the right start",
	}
	msgManyDMARC = i18n.M{
		FR: "%d enregistrements DMARC sur _dmarc.%s : les destinataires les ignorent tous",
		EN: "%d DMARC records on _dmarc.%s: receivers ignore them all",
	}
	msgManyDMARCDo = i18n.M{
		FR: "demandez à l'hébergeur de n'en garder qu'un",
		EN: "ask the host to keep only one",
	}
	msgDMARCBad = i18n.M{
		FR: "l'enregistrement DMARC de %s n'a pas de politique valable (p=none, quarantine ou reject) : « %s »",
		EN: "the DMARC record of %s has no valid policy (p=none, quarantine or reject): %q",
	}
	msgDMARCBadDo = i18n.M{
		FR: "demandez à l'hébergeur de l'écrire « v=DMARC1; p=none » pour commencer",
		EN: "ask the host to write it \"v=DMARC1; p=none\" to start with",
	}
	msgDMARCOK = i18n.M{FR: "DMARC : politique %s", EN: "DMARC: policy %s"}
)
