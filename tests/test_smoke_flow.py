"""The core story end to end through the dispatcher, on SQLite and PostgreSQL."""


def test_resident_asks_volunteer_claims_and_finishes(chat):
    chat.join("maria", "Maria", "nl", "role:help")
    chat.join("jan", "Jan", "fr", "role:give")
    chat.send("jan", "1 3")
    chat.send("jan", "nl fr")
    chat.send("jan", "2")
    chat.send("jan", "non")
    assert chat.last("coordinator")["options"][0]["payload"].startswith("vol:ok:")
    chat.send("coordinator", "1")
    chat.send("maria", payload="ask")
    chat.send("maria", "1")
    chat.send("maria", "Een pak water van de Carrefour")
    chat.send("maria", payload="when:tomorrow")
    chat.send("maria", "Kerkstraat 12, 1040 Etterbeek")
    chat.send("maria", "ja")
    notice = chat.last("jan")
    assert "Kerkstraat" in notice["text"] and "12" not in notice["text"].split("Kerkstraat")[1][:4]
    got = chat.press("jan", "")  # the first option: claim
    assert "Kerkstraat 12" in "\n".join(m["text"] for m in got)  # the task, then "when will you go?"
    assert "Jan" in chat.last("maria")["text"]
