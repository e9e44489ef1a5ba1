//! Free-text feedback for the demo: survey comments, reviews, ticket and call notes, in
//! French and English, by topic and sentiment. Written for parcours; some carry negation
//! ("pas mal du tout", "not bad at all"), contrast ("mais", "but") and intensity, so the
//! sentiment work of later issues has realistic material.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tone {
    Positive,
    Neutral,
    Negative,
}

/// What a comment is about. `Delivery`, `Checkout` and `Returns` carry the planted
/// frictions (see `docs/demo.md`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Topic {
    Product,
    Delivery,
    Support,
    Checkout,
    Returns,
    Price,
    Store,
}

pub fn comment(lang: Lang, topic: Topic, tone: Tone, pick: usize) -> &'static str {
    let options: &[&str] = match (lang, topic, tone) {
        (Lang::Fr, Topic::Product, Tone::Positive) => &[
            "Superbe lampe, la qualité est vraiment au rendez-vous.",
            "Très belle finition, exactement comme sur les photos !",
            "Pas mal du tout, je suis agréablement surprise par la qualité.",
            "J'adore ce luminaire, il change complètement le salon.",
        ],
        (Lang::Fr, Topic::Product, Tone::Neutral) => &[
            "Produit conforme à la description.",
            "La lampe fait le travail, sans plus.",
            "Reçu le produit commandé, rien à signaler.",
        ],
        (Lang::Fr, Topic::Product, Tone::Negative) => &[
            "La finition n'est pas à la hauteur du prix.",
            "Déçu, l'abat-jour est arrivé rayé.",
            "Le produit est joli mais la qualité est vraiment médiocre.",
        ],
        (Lang::Fr, Topic::Delivery, Tone::Positive) => &[
            "Livraison rapide et colis très bien protégé.",
            "Livré en deux jours, parfait !",
        ],
        (Lang::Fr, Topic::Delivery, Tone::Neutral) => &[
            "Livraison dans les délais annoncés.",
            "Le colis est arrivé à la date prévue.",
        ],
        (Lang::Fr, Topic::Delivery, Tone::Negative) => &[
            "Livraison en retard de deux semaines, personne ne répond.",
            "Colis toujours pas livré, le suivi ne fonctionne jamais.",
            "La livraison a pris un retard énorme, c'est inadmissible.",
            "Retard de livraison et aucune information du transporteur.",
        ],
        (Lang::Fr, Topic::Support, Tone::Positive) => &[
            "Service client au top, problème réglé en quelques minutes.",
            "Conseillère très aimable et efficace, merci !",
        ],
        (Lang::Fr, Topic::Support, Tone::Neutral) => &[
            "Le service client m'a répondu.",
            "Demande traitée par le support.",
        ],
        (Lang::Fr, Topic::Support, Tone::Negative) => &[
            "J'ai dû appeler trois fois pour le même problème.",
            "Le service client ne rappelle jamais, très frustrant.",
            "Temps d'attente beaucoup trop long au téléphone.",
        ],
        (Lang::Fr, Topic::Checkout, Tone::Positive) => &["Commande simple et rapide sur le site."],
        (Lang::Fr, Topic::Checkout, Tone::Neutral) => {
            &["Paiement effectué sans souci particulier."]
        }
        (Lang::Fr, Topic::Checkout, Tone::Negative) => &[
            "Le paiement ne marche pas sur mobile, c'est pénible.",
            "Impossible de payer depuis mon téléphone, la page plante.",
            "Le site est beau mais le paiement sur smartphone échoue sans cesse.",
        ],
        (Lang::Fr, Topic::Returns, Tone::Positive) => &["Retour accepté sans discussion, bravo."],
        (Lang::Fr, Topic::Returns, Tone::Neutral) => &["Retour en cours de traitement."],
        (Lang::Fr, Topic::Returns, Tone::Negative) => &[
            "Le retour est un vrai parcours du combattant.",
            "Procédure de retour compliquée et remboursement très lent.",
            "Pas simple du tout de renvoyer un article.",
        ],
        (Lang::Fr, Topic::Price, Tone::Positive) => &["Très bon rapport qualité-prix."],
        (Lang::Fr, Topic::Price, Tone::Neutral) => &["Prix dans la moyenne du marché."],
        (Lang::Fr, Topic::Price, Tone::Negative) => &[
            "Trop cher pour ce que c'est.",
            "Les frais de port sont exorbitants.",
        ],
        (Lang::Fr, Topic::Store, Tone::Positive) => {
            &["Accueil chaleureux en boutique, vendeur de bon conseil."]
        }
        (Lang::Fr, Topic::Store, Tone::Neutral) => &["Boutique bien rangée."],
        (Lang::Fr, Topic::Store, Tone::Negative) => &["Personne pour nous renseigner en magasin."],
        (Lang::En, Topic::Product, Tone::Positive) => &[
            "Beautiful lamp, the quality is excellent.",
            "Love it! Looks exactly like the pictures.",
            "Not bad at all, really impressed by the finish.",
            "Great design, it completely changed our living room.",
        ],
        (Lang::En, Topic::Product, Tone::Neutral) => &[
            "Product as described.",
            "It does the job.",
            "Received what I ordered.",
        ],
        (Lang::En, Topic::Product, Tone::Negative) => &[
            "The finish is not worth the price.",
            "Disappointed, the shade arrived scratched.",
            "Looks nice but the build quality is really poor.",
        ],
        (Lang::En, Topic::Delivery, Tone::Positive) => &[
            "Fast delivery and very well packed.",
            "Delivered in two days, perfect!",
        ],
        (Lang::En, Topic::Delivery, Tone::Neutral) => &[
            "Delivered on the announced date.",
            "The parcel arrived as planned.",
        ],
        (Lang::En, Topic::Delivery, Tone::Negative) => &[
            "Delivery was two weeks late and nobody answered my emails.",
            "Still not delivered, the tracking never works.",
            "Terribly late delivery, unacceptable.",
            "Late delivery and no news from the carrier.",
        ],
        (Lang::En, Topic::Support, Tone::Positive) => &[
            "Great customer service, they solved my problem in minutes.",
            "Very friendly and helpful agent, thanks!",
        ],
        (Lang::En, Topic::Support, Tone::Neutral) => &[
            "Support answered my question.",
            "Request handled by support.",
        ],
        (Lang::En, Topic::Support, Tone::Negative) => &[
            "I had to call three times about the same issue.",
            "Support never calls back, very frustrating.",
            "Waiting time on the phone is far too long.",
        ],
        (Lang::En, Topic::Checkout, Tone::Positive) => {
            &["Ordering on the site was quick and easy."]
        }
        (Lang::En, Topic::Checkout, Tone::Neutral) => &["Payment went through."],
        (Lang::En, Topic::Checkout, Tone::Negative) => &[
            "The checkout kept failing on my phone.",
            "Could not pay from my mobile, the page crashes.",
            "Nice site but mobile payment fails every time.",
        ],
        (Lang::En, Topic::Returns, Tone::Positive) => {
            &["Return accepted without any hassle, well done."]
        }
        (Lang::En, Topic::Returns, Tone::Neutral) => &["Return being processed."],
        (Lang::En, Topic::Returns, Tone::Negative) => &[
            "Returning an item is a nightmare.",
            "Complicated return process and very slow refund.",
            "Not easy at all to send an item back.",
        ],
        (Lang::En, Topic::Price, Tone::Positive) => &["Great value for money."],
        (Lang::En, Topic::Price, Tone::Neutral) => &["Prices are about average."],
        (Lang::En, Topic::Price, Tone::Negative) => &[
            "Too expensive for what it is.",
            "Shipping fees are outrageous.",
        ],
        (Lang::En, Topic::Store, Tone::Positive) => {
            &["Warm welcome in the shop, very good advice."]
        }
        (Lang::En, Topic::Store, Tone::Neutral) => &["The shop is tidy."],
        (Lang::En, Topic::Store, Tone::Negative) => &["Nobody to help us in the store."],
    };
    options[pick % options.len()]
}
