"""Language of an article whose feed did not say: a stopword vote, not a model.

Function words make up a third or more of any running text and differ sharply
between languages, so counting them tells English from French (and both from
their neighbours) reliably on anything paragraph-sized, in microseconds and
without dependencies. The profiles are disjoint: a word common to several
languages ("de", "la", "que", "in", "a") is evidence for none, and a word each
language uses but at very different rates (the Spanish "y" and the French
"il y a") goes to the language that uses it most. That is what lets one
dictionary lookup per token do the whole count. The Portuguese "da" is left
out: it is also the commonest word of Hausa, which Sahel feeds carry.

Spanish, Portuguese, German and Italian are recognised mainly so that they are
not forced into English or French; anything else gets None from the dominance
test rather than a guess.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping

# Long articles are settled well before this; reading further only costs time.
_WINDOW_CHARS = 2_000
# Fewer words than this is a headline or a caption: too few function words to vote.
_MIN_WORDS = 20
# The winner needs this many of its words, at least this share of all the words
# (so foreign text with a few borrowed words is not claimed) and this lead over
# the runner-up (so mixed text has to be clearly one language).
_MIN_HITS = 4
_MIN_COVERAGE = 0.10
_MIN_LEAD = 2.0

# Apostrophes separate words, so "l'armée" gives the French elision "l" and
# "don't" the English "don". Otherwise words are split on whitespace alone: a
# function word rarely carries punctuation, and str.split is about three times
# faster here than a regex tokeniser, which alone would spend most of the budget.
_APOSTROPHES = ("'", "\u2019")


def _profile(words: str) -> frozenset[str]:
    """A few hundred words per language read better as a block of text than as a list literal."""
    return frozenset(words.split())


STOPWORDS: Mapping[str, frozenset[str]] = {
    "en": _profile(
        """
        the of and to is was for that it with by at from be this have has had are were been being
        or but not they their them there these those which who whom whose what when where why how
        he his him himself she her herself we our us you your its itself themselves i my
        would could should will can may might must shall did does doing done
        said says say told added according
        about after before against between during without within through into over under
        above below across around among amid along behind beyond upon toward towards since until
        than then also only just even still already again ever never often always once
        very too much many most more some any each every both either neither other another such
        same own few several all if because although though however whether while yet
        up out off down back away here now today yesterday tomorrow
        one two three four five first second last next new old year years week weeks month months
        people government country president minister officials military security killed
        attack attacks city region including following reported expected former later early
        get got go going went came take took make made give gave see saw know knew think want
        like well way time day days number world around left right long little big great
        ll ve don didn doesn isn wasn aren weren won wouldn couldn hasn haven
        """
    ),
    "fr": _profile(
        """
        le les des du et à une est qui dans pour pas au aux sur par plus ce ces cet cette ne
        ont sont été était étaient avait avaient avoir être fait faire peut peuvent doit doivent
        comme leur leurs nous vous ils elle elles lui eux sa ses mon notre votre vos
        aussi très déjà après avant depuis sans sous contre selon pendant chez vers parmi auprès
        tout tous toute toutes autre autres lors alors encore ainsi bien dont où même mêmes moins
        notamment également pays ans année années premier première dernier dernière deux trois
        gouvernement président français française françaises monde état états armée sécurité
        attaque attaques militaires autorités ministre capitale région jour jours mois fois
        nouvelle nouveau nouveaux grand grande milliards partie droits qu l d n j c
        oui là ça cela ceci celui celle ceux quand pourquoi parce puis donc toujours jamais
        rien peu beaucoup trop seulement surtout plusieurs chaque certains certaines aucun
        aucune quelques tant afin lorsque tandis ici aujourd hui demain
        sera seront serait seraient aurait auraient ait soit étant eu avons avez suis sommes
        êtes fut font va vont dit déclaré affirmé indiqué estime explique pourrait devrait
        """
    ),
    "es": _profile(
        """
        el los las y su sus más pero fue fueron está están estaba estaban estos estas
        ese esa eso esos esas también cuando muy sin sobre ya hay había habían han hemos
        tiene tienen tenía tener puede pueden sido siendo eran será sería hace hacer hizo
        dijo dice según años año después aunque mientras hasta donde dónde porque qué cómo
        cuál quién quien quienes cual cuales cuyo así sólo él ella ellos ellas nosotros usted
        ustedes yo mí mis ni u otro otra otros otras mismo misma mucho muchos mucha muchas
        poco pocos nada nadie algo alguien algunos algunas alguna ningún ninguna entonces
        luego ahora aquí allí hoy ayer mañana siempre además incluso aún todavía casi mejor
        gran grandes nuevo nueva primer primera primero tres millones ante tras hacia
        mediante bajo unos unas sí vez veces embargo pues sino día días haber habría podría
        debe deben señaló afirmó aseguró explicó indicó agregó añadió informó autoridades
        policía ciudad gobierno dijeron anunció varias varios personas nuestro nuestra nuestros
        hubo tuvo hicieron través dentro fuera junto acuerdo pasado tampoco somos soy estamos
        estoy podemos quiere quieren parece sigue cuatro siete ocho diez veinte
        """
    ),
    "pt": _profile(
        """
        não uma um com em os do dos ao aos às na nas num numa pelo pela pelos pelas é são
        foi foram eram ter tem têm tinha tinham há estão estava seu sua seus suas ele ela eles
        elas isso isto esse essa esses essas aquele aquela aqui ali também muito muitos muita
        muitas já ainda até sem mesmo mesma depois então assim apenas onde após segundo disse
        afirmou anos ano pode podem devem vai vão fazer feito nosso nossa nossos você vocês
        nós lhe lhes meu minha outro outra outros outras nenhum nenhuma algum alguma alguns
        algumas neste nesta nesse nessa deste desta desse dessa dele dela deles delas nele
        nela milhões três dois duas primeiro primeira novo nova pessoas porém embora enquanto
        contudo além através dia dias vezes agora hoje ontem mas nem bem tão quem qual quais
        cujo havia houve sendo seria seriam poderia podia fez faz fazem diz dizem afirma
        disseram várias vários região ministério perto mortos feira quatro sete oito dez vinte
        entanto portanto pois
        """
    ),
    "de": _profile(
        """
        der die und den das dem ein eine einen einem einer eines ist sind waren wird werden
        wurde wurden worden hat haben hatte hatten habe sei seien kann können konnte muss
        müssen soll sollen sollte wollen mit von zu zum zur für auf aus bei nach über unter vor
        durch gegen ohne seit bis zwischen während wegen sich nicht auch noch nur schon mehr
        sehr wie wenn dass daß ob weil aber oder sondern denn doch als er sie wir ich ihr ihre
        ihren ihrem ihrer sein seine seinen seinem seiner uns unser unsere dieser diese dieses
        diesem diesen jetzt heute immer wieder dann dort keine kein keinen allen
        viele vielen zwei drei jahr jahre jahren prozent gibt geht sagte sagt laut bereits
        sowie damit dabei dazu deshalb etwa ab am im ins vom beim wer wo warum welche welcher
        welches neue neuen neuer erste ersten große großen mehrere einige einigen andere
        anderen sowohl nun dies gewesen würde würden könnte gegenüber innerhalb regierung
        präsident millionen milliarden menschen zeit teil nichts etwas selbst ganz bisher
        zudem allerdings jedoch außerdem statt
        """
    ),
    "it": _profile(
        """
        di che è della delle dello dei degli alla allo agli nel nella nelle nei negli
        nello dal dalla dalle dai dagli dallo sul sulla sulle sui sugli col sono anche più ma
        non gli questo questa questi queste quello quella quelli quelle ci hanno essere stato
        stata stati fatto tra fra dopo molto molti molte ancora poi già perché così ogni loro
        suo suoi sue anni anno paese dove mentre senza tutto tutti tutte tutta nostro nostra
        ho hai abbiamo avere aveva avevano fare detto sia siamo sarà sarebbe erano può possono
        devono viene vengono stesso stessa altri altre altro altra qualche quale quali quanto
        contro verso oltre secondo circa prima ieri oggi domani quindi però invece inoltre
        infatti cioè mai nessuno niente nulla qua lì ecco lei noi voi io mi ti ed od ad milioni
        miliardi città
        """
    ),
}

_LANGUAGE_OF: dict[str, str] = {word: lang for lang, words in STOPWORDS.items() for word in words}


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the language that clearly dominates ``text``, or None when none does."""
    # lower(), not casefold(): casefold spells "ß" as "ss" and would miss the German "daß" and "große".
    window = unicodedata.normalize("NFC", text[:_WINDOW_CHARS]).lower()
    for apostrophe in _APOSTROPHES:
        window = window.replace(apostrophe, " ")
    words = window.split()
    if len(words) < _MIN_WORDS:
        return None
    votes = Counter(map(_LANGUAGE_OF.get, words))
    del votes[None]
    ranked = votes.most_common(2)
    if not ranked:
        return None
    lang, hits = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    if hits < _MIN_HITS or hits < _MIN_COVERAGE * len(words) or hits < _MIN_LEAD * runner_up:
        return None
    return lang
