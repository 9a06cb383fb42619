"""understand() on messages as people write them in the seven newer languages (ar -- MSA, Darija in
Arabic letters and in arabizi --, tr, es, pt, it, pl, ro): requests of every kind of help, offers, thanks
for help given and small talk, with typos, without diacritics, SMS style. No language hint: the words
alone must tell the language, the kind and the category. The words are data (locales/lexicon/<lang>/);
these messages were written for this test, not taken from the evaluation set."""
from __future__ import annotations

from datetime import date

import pytest

from handlers.understand import understand

TODAY = date(2026, 12, 7)  # a Monday
R, OF, X = "request", "offer", "other"

MESSAGES = {
    "ar": [
        ("السلام عليكم، واش شي واحد يقدر يجيب ليا الدوا من الفرماسيان غدا؟", R, "shopping"),
        ("salam 3afak wach chi wa7ed y9der y3awni f les courses lyoum", R, "shopping"),
        ("ma n9derch nmchi l7anout bwe7di, chkoun y9der yjib lia lkhodra?", R, "shopping"),
        ("عافاك خاصني شي واحد يديني عند الطبيب نهار الخميس", R, "lift"),
        ("bghit chi wa7ed ydini l sbitar ghedda m3a 10", R, "lift"),
        ("اللامبة ديال الكوزينة خاسرة وما نقدرش نطلع فالسلم، شكون يقدر يعاوني؟", R, "repair"),
        ("هل يمكن لأحد أن يساعدني في ملء استمارة البلدية؟", R, "paperwork"),
        ("3afak chi wa7ed y3awni nfhem wa7ed lbria jatni mn la commune", R, "paperwork"),
        ("أنا وحدي فالدار، بغيت شي واحد يزورني ونتهضرو شوية", R, "company"),
        ("wach kayn chi wa7ed ykhrej lkelb dyali had simana, ana mrida", R, "pets"),
        ("شكون يقدر يوكل المش ديالي ويسقي النباتات ملي نكون مسافرة؟", R, "pets"),
        ("أنا غادي للسوق غدا الصباح، واش شي واحد محتاج شي حاجة؟", OF, "shopping"),
        ("ana ghadi l marjane ghedda, ila chi wa7ed bgha chi haja ygoulia", OF, "shopping"),
        ("عندي طوموبيل ونقدر نوصل شي واحد للطبيب نهار السبت", OF, "lift"),
        ("أود أن أتطوع لمساعدة الجيران كبار السن", OF, X),
        ("n9der n3awen f lbricolage nhar sebt, 3ndi lwe9t", OF, "repair"),
        ("شكرا بزاف على القضيان ديال البارح، الله يجازيك بخير", X, None),
        ("شكرا جزيلا على المساعدة في التسوق", X, None),
        ("choukran bzaf 3la t9dya dyal lbare7 a khti, lah ykhlik", X, None),
        ("labas 3likom? kolchi mzyan?", X, None),
    ],
    "tr": [
        ("Merhaba, yarın biri benim için markete gidebilir mi? Dizim ağrıyor", R, "shopping"),
        ("birisi eczaneden ilaclarimi alabilir mi lutfen", R, "shopping"),
        ("Artık kendi alışverişimi yapamıyorum", R, "shopping"),
        ("Cuma günü hastanede randevum var, beni götürebilecek biri var mı?", R, "lift"),
        ("mutfaktaki lamba bozuldu, merdivene cikamiyorum. kim yardim edebilir?", R, "repair"),
        ("Birisi perşembe günü çöpü dışarı çıkarabilir mi?", R, "repair"),
        ("Belediyeden gelen mektubu anlamiyorum, okumama yardim eder misiniz?", R, "paperwork"),
        ("telefonumda whatsapp calismiyor, bana gosterecek biri var mi", R, "paperwork"),
        ("Çok yalnızım, ara sıra biri gelip benimle sohbet etse çok sevinirim", R, "company"),
        ("Tatildeyken kedime kim bakabilir?", R, "pets"),
        ("Kopegimi gezdirecek birine ihtiyacim var", R, "pets"),
        ("Yarın zaten markete gidiyorum, bir şey lazım olan var mı?", OF, "shopping"),
        ("Arabam var, cumartesi doktora gitmesi gereken birini götürebilirim", OF, "lift"),
        ("Emekliyim, bos vaktim cok. Gonullu olarak yardim etmek istiyorum", OF, X),
        ("tamir islerinden anlarim, lamba degistirebilirim, raf takabilirim", OF, "repair"),
        ("Dünkü alışveriş için çok teşekkür ederim, Allah razı olsun", X, None),
        ("tesekkurler komsum, ilaclari getirdiginiz icin", X, None),
        ("nasilsiniz, iyi aksamlar", X, None),
    ],
    "pl": [
        ("Dzien dobry, czy ktos moglby zrobic mi zakupy jutro?", R, "shopping"),
        ("potrzebuje kogos kto odbierze leki z apteki", R, "shopping"),
        ("Nie dam juz rady sama nosic zakupow", R, "shopping"),
        ("Czy ktoś mógłby mnie zawieźć do lekarza w czwartek?", R, "lift"),
        ("przepalila sie zarowka w kuchni a nie moge wejsc na drabine, kto pomoze?", R, "repair"),
        ("Nie rozumiem pisma z urzedu, czy ktos pomoze mi wypelnic formularz", R, "paperwork"),
        ("Czy moglby mi ktos pomoc z telefonem? Nie umiem wyslac zdjecia", R, "paperwork"),
        ("Jestem sama i brakuje mi rozmowy, chetnie bym sie z kims spotkala na kawe", R, "company"),
        ("Kto moze nakarmic mojego kota w weekend?", R, "pets"),
        ("szukam kogos do wyprowadzania psa, mam chora noge", R, "pets"),
        ("I tak jade jutro do Lidla, moge cos komus kupic", OF, "shopping"),
        ("Mam samochod i w sobote moge kogos zawiezc do szpitala", OF, "lift"),
        ("Chcialbym pomagac starszym sasiadom, mam troche czasu po pracy", OF, X),
        ("Moge pomoc w drobnych naprawach, mam wiertarke", OF, "repair"),
        ("Dziekuje bardzo za zakupy wczoraj!", X, None),
        ("dzieki za pomoc z kotem, wszystko ok", X, None),
        ("czesc, co slychac?", X, None),
    ],
    "ro": [
        ("Buna ziua, poate cineva sa imi faca cumparaturile maine?", R, "shopping"),
        ("am nevoie de cineva sa-mi ia medicamentele de la farmacie", R, "shopping"),
        ("nu mai pot sa merg singura la magazin", R, "shopping"),
        ("Cine m-ar putea duce la doctor joi dimineata?", R, "lift"),
        ("S-a ars becul din bucatarie si nu mai pot urca pe scara. Ma poate ajuta cineva?", R, "repair"),
        ("Am primit o scrisoare de la primarie si nu inteleg nimic, ma ajuta cineva s-o completez?", R, "paperwork"),
        ("Va rog, am nevoie de ajutor cu calculatorul, nu stiu sa trimit un email", R, "paperwork"),
        ("Sunt singura acasa, mi-ar placea sa vina cineva la o cafea si o vorba", R, "company"),
        ("cine poate sa-mi hraneasca pisica in weekend?", R, "pets"),
        ("caut pe cineva sa plimbe cainele dimineata", R, "pets"),
        ("Oricum merg maine la Lidl, are cineva nevoie de ceva?", OF, "shopping"),
        ("Am masina si pot duce pe cineva la spital sambata", OF, "lift"),
        ("Sunt pensionar si as vrea sa ajut vecinii, am timp liber", OF, X),
        ("Ma pricep la reparatii, pot schimba un bec sau monta un raft", OF, "repair"),
        ("Multumesc frumos pentru cumparaturi ieri!", X, None),
        ("mersi mult pt ajutor cu telefonul", X, None),
        ("buna, ce mai faci?", X, None),
    ],
    "es": [
        ("Hola, alguien me podria hacer la compra mañana?", R, "shopping"),
        ("necesito q alguien me recoja las medicinas en la farmacia", R, "shopping"),
        ("ya no puedo cargar las bolsas de la compra", R, "shopping"),
        ("Alguien me puede llevar al medico el jueves por la mañana?", R, "lift"),
        ("Se me ha fundido la bombilla de la cocina y no puedo subir a la escalera, quien me ayuda?", R, "repair"),
        ("no entiendo la carta del ayuntamiento, me ayudan a rellenar el formulario?", R, "paperwork"),
        ("Me podria alguien enseñar a usar whatsapp en la tablet?", R, "paperwork"),
        ("Estoy muy sola, me gustaria que alguien viniera a charlar un rato", R, "company"),
        ("quien puede sacar a pasear a mi perro esta semana?", R, "pets"),
        ("Voy al Lidl mañana de todas formas, alguien necesita algo?", OF, "shopping"),
        ("Tengo coche y puedo llevar a alguien al hospital el sabado", OF, "lift"),
        ("Soy jubilado y me gustaria ayudar a los vecinos", OF, X),
        ("Puedo arreglar cosas pequeñas en casa, tengo herramientas", OF, "repair"),
        ("Mil gracias por sacar a mi perro ayer, es usted un sol", X, None),
        ("mil gracias x ayudarme con el movil, ya funciona", X, None),
        ("hola que tal, todo bien?", X, None),
    ],
    "pt": [
        ("Ola, alguem pode fazer as minhas compras amanha?", R, "shopping"),
        ("preciso de alguem q va buscar os meus remedios a farmacia", R, "shopping"),
        ("Ja nao consigo carregar as compras sozinha", R, "shopping"),
        ("Alguém me pode levar ao médico na quinta-feira?", R, "lift"),
        ("A lampada da cozinha fundiu e nao consigo subir ao escadote. Quem me ajuda?", R, "repair"),
        ("Recebi uma carta da camara e nao percebo nada, alguem me ajuda a preencher o formulario?", R, "paperwork"),
        ("vc pode me ensinar a usar o whatsapp no celular?", R, "paperwork"),
        ("Sinto-me muito sozinha, gostava que alguem viesse conversar um pouco", R, "company"),
        ("quem pode passear o meu cao esta semana?", R, "pets"),
        ("Vou ao Lidl amanha de qualquer forma, alguem precisa de alguma coisa?", OF, "shopping"),
        ("Tenho carro e posso levar alguem ao hospital no sabado", OF, "lift"),
        ("Sou reformado e gostaria de ajudar os vizinhos", OF, X),
        ("Posso fazer pequenas reparacoes, tenho ferramentas", OF, "repair"),
        ("Muito obrigada pela boleia de ontem!", X, None),
        ("obg pela ajuda com o telemovel, ja funciona", X, None),
        ("oi tudo bem? bom dia", X, None),
    ],
    "it": [
        ("Ciao, qualcuno potrebbe fare la spesa per me domani?", R, "shopping"),
        ("ho bisogno di qualcuno che mi prenda le medicine in farmacia", R, "shopping"),
        ("Non riesco più a portare le borse della spesa", R, "shopping"),
        ("Qualcuno mi può accompagnare dal medico giovedì mattina?", R, "lift"),
        ("Si è bruciata la lampadina in cucina e non riesco a salire sulla scala, chi mi aiuta?", R, "repair"),
        ("Ho ricevuto una lettera dal comune e non capisco niente, qualcuno mi aiuta a compilare il modulo?", R,
         "paperwork"),
        ("Qualcuno mi insegna a usare whatsapp sul tablet?", R, "paperwork"),
        ("Sono molto sola, mi piacerebbe che qualcuno venisse a fare due chiacchiere", R, "company"),
        ("chi puo portare fuori il mio cane questa settimana?", R, "pets"),
        ("Vado comunque alla Coop domani, a qualcuno serve qualcosa?", OF, "shopping"),
        ("Ho la macchina e posso accompagnare qualcuno all'ospedale sabato", OF, "lift"),
        ("Sono in pensione e vorrei aiutare i vicini", OF, X),
        ("Posso fare piccole riparazioni, ho gli attrezzi", OF, "repair"),
        ("Grazie mille per la spesa di ieri!", X, None),
        ("grazie infinite per il passaggio dal dottore", X, None),
        ("ciao come va? tutto bene", X, None),
    ],
}
#: The many ways of asking ("is there someone who", "bring me", "I can't ... any more") and offering
#: ("if anyone needs", "I have time on Saturday", "I'd gladly do someone's shopping").
MORE = {
"ar": [
        ("kayn chi wa7ed y9der ysa9i lnbatat dyali?", R, "pets"),
        ("n9der njib likom chi haja mn lhanout", OF, "shopping"),
        ("ما عندي طوموبيل، شكون يقدر يديني للطبيب؟", R, "lift"),  # "I have no car" offers nothing
        ("ma n9derch nmchi l farmacie, chi wa7ed y9der yjib lia ddwa?", R, "shopping"),
 ("wach kayn chi wa7ed y9der ychri lia lkhobz w l7lib", R, "shopping"),
 ("ana ma b9itch n9der nhbet ldrouj, khassni chi wa7ed ytla3 lia l9adya", R, "shopping"),
 ("jib lia 3afak ddwa mn lfarmasyan", R, "shopping"),
 ("هل هناك من يستطيع أن يوصلني إلى المستشفى يوم الاثنين؟", R, "lift"),
 ("أحتاج إلى من يساعدني في إصلاح الباب", R, "repair"),
 ("ana ghadi l souk daba, ila bghiti chi haja goulili", OF, "shopping"),
 ("3ndi tomobil, ila chi wa7ed bgha ymchi l tbib n9der nwslo", OF, "lift"),
 ("عندي الوقت نهار السبت، نقدر نعاون شي حد فالتقدية", OF, "shopping"),
 ("بغيت نعاون الجيران ديالي", OF, X),
 ("ma n9derch nt9da bw7di, wach chi wa7ed y9der y3awni?", R, "shopping"),
 ("محتاجة شي واحد يقرا ليا واحد البرية جاتني", R, "paperwork"),
],
"tr": [
        ("Yardım edebilir misiniz, elektrik faturası anlamadım", R, "paperwork"),
        ("Kedime bakabilirim, hayvanları severim", OF, "pets"),
        ("Arabam yok, kim beni doktora goturebilir?", R, "lift"),
        ("Markete gidemiyorum, biri ekmek alabilir mi", R, "shopping"),
 ("Bana ekmek ve süt getirebilir misiniz?", R, "shopping"),
 ("biri bana yardım edebilir mi, çöp poşetlerini taşıyamıyorum", R, "repair"),
 ("Pazartesi doktora gitmem lazım, beni kim götürür?", R, "lift"),
 ("Alışverişe gidiyorum, isteyen varsa söylesin", OF, "shopping"),
 ("Cumartesi boş vaktim var, yardım edebilirim", OF, X),
 ("Arabam var, hastaneye gitmesi gereken olursa götürürüm", OF, "lift"),
 ("Birine alışveriş yapabilirim", OF, "shopping"),
 ("kimse bana yardim edemez mi? bilgisayarim acilmiyor", R, "paperwork"),
 ("Yardım etmek isterim, köpek gezdirmeyi severim", OF, "pets"),
 ("artık merdivenleri çıkamıyorum, biri ampulü değiştirebilir mi", R, "repair"),
 ("Annem çok yalnız, ona arada bir uğrayacak biri var mı?", R, "company"),
],
"pl": [
        ("Moge wyprowadzac psa sasiadom", OF, "pets"),
        ("Czy moge prosic o pomoc z zakupami?", R, "shopping"),
        ("nie mam samochodu, kto mnie zawiezie do lekarza?", R, "lift"),
        ("Nie moge nosic zakupow, moze ktos pomoc?", R, "shopping"),
 ("Czy jest ktoś, kto mógłby mi kupić chleb?", R, "shopping"),
 ("Prosze przyniesc mi leki z apteki", R, "shopping"),
 ("Nie moge juz chodzic do sklepu, potrzebuje pomocy z zakupami", R, "shopping"),
 ("Kto mnie podwiezie do szpitala w poniedzialek?", R, "lift"),
 ("Ide do Biedronki, jak ktos czegos potrzebuje to dajcie znac", OF, "shopping"),
 ("W sobote mam wolne, moge komus pomoc", OF, X),
 ("Jesli ktos potrzebuje transportu, mam auto", OF, "lift"),
 ("Chetnie zrobie komus zakupy", OF, "shopping"),
 ("Czy ktoś może pomóc? Nie mogę sam wymienić żarówki", R, "repair"),
 ("Potrzebuje kogos do podlewania kwiatow jak wyjade", R, "pets"),
 ("chcialabym zeby ktos mnie czasem odwiedzil", R, "company"),
],
"ro": [
        ("Pot ajuta cu cumparaturile, am timp dupa-amiaza", OF, "shopping"),
        ("Imi poate cineva schimba becul?", R, "repair"),
        ("nu am masina, cine ma poate duce la doctor?", R, "lift"),
        ("nu pot merge la farmacie, poate cineva sa-mi aduca medicamentele?", R, "shopping"),
 ("Cineva care sa-mi aduca paine si lapte?", R, "shopping"),
 ("Aduceti-mi va rog medicamentele de la farmacie", R, "shopping"),
 ("Nu mai pot sa car sacosele, ma ajuta cineva cu cumparaturile?", R, "shopping"),
 ("Are cineva masina sa ma duca la spital luni?", R, "lift"),
 ("Merg oricum la Kaufland, daca are cineva nevoie de ceva sa-mi spuna", OF, "shopping"),
 ("Sambata am timp, pot ajuta pe cineva", OF, X),
 ("Pot face cumparaturi pentru cineva", OF, "shopping"),
 ("Ma poate ajuta cineva? Nu pot schimba becul singura", R, "repair"),
 ("as dori sa vina cineva sa-mi citeasca o scrisoare", R, "paperwork"),
 ("Caut pe cineva care sa-mi ude florile cat sunt plecata", R, "pets"),
 ("Vreau sa ajut batranii din cartier", OF, X),
],
"es": [
        ("no puedo ir a la farmacia, alguien puede traerme las medicinas?", R, "shopping"),
 ("Hay alguien que me pueda traer el pan?", R, "shopping"),
 ("Traeme la leche porfa", R, "shopping"),
 ("Voy al mercado de todas formas, si alguien necesita algo que me diga", OF, "shopping"),
 ("El sabado tengo tiempo, puedo ayudar", OF, X),
 ("Alguien me puede ayudar? No puedo cambiar la bombilla", R, "repair"),
],
"pt": [
        ("nao posso ir a farmacia, alguem pode trazer-me os remedios?", R, "shopping"),
 ("Ha alguem que me possa trazer pao?", R, "shopping"),
 ("Traz-me o leite por favor", R, "shopping"),
 ("Vou ao mercado de qualquer forma, se alguem precisar de algo diga", OF, "shopping"),
 ("No sabado tenho tempo, posso ajudar", OF, X),
 ("Alguem me pode ajudar? Nao consigo trocar a lampada", R, "repair"),
],
"it": [
        ("non posso andare in farmacia, qualcuno puo portarmi le medicine?", R, "shopping"),
 ("C'e qualcuno che mi puo portare il pane?", R, "shopping"),
 ("Portami il latte per favore", R, "shopping"),
 ("Vado al mercato comunque, se qualcuno ha bisogno di qualcosa me lo dica", OF, "shopping"),
 ("Sabato ho tempo, posso aiutare", OF, X),
 ("Qualcuno mi puo aiutare? Non riesco a cambiare la lampadina", R, "repair"),
],
}
CASES = [(lang, *case) for table in (MESSAGES, MORE) for lang, cases in table.items() for case in cases]


@pytest.mark.parametrize("language,text,kind,category", CASES)
def test_language_kind_and_category(language, text, kind, category):
    found = understand(text, today=TODAY)
    assert (found.language, found.kind, found.category) == (language, kind, category)


def test_every_language_has_requests_of_every_kind_of_help_offers_and_thanks():
    """The table itself: at least 15 messages a language, each kind of help asked, offers and thanks."""
    for lang, cases in MESSAGES.items():
        assert len(cases) >= 15, lang
        asked = {category for _text, kind, category in cases if kind == R}
        assert asked >= {"shopping", "lift", "repair", "company", "pets", "paperwork"}, lang
        assert any(kind == OF for _t, kind, _c in cases) and any(kind == X for _t, kind, _c in cases), lang
