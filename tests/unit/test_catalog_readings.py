# -*- coding: utf-8 -*-
"""Catalog precision (issue 15): the least the vendor documents justify, each reading tested against
the document's own words (read from the seed file, as test_catalog_seeds does).

- a directly attached fax adapter (``direct_trunk``) has no flows with the local PBX (document 004);
- the License Server's health scan of the Mobile Service opens one port, 80 by default (document 001);
- Yealink CTI 65012/UDP: the document gives no direction; the catalog's reading is in one place;
- the audit: features that switch on no more than the document names, directions the document
  does not give are stated as readings;
- every document of the catalog records its version as stated, or ``unstated``.
"""

from __future__ import annotations

import re

import pytest

from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import build_catalog
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate
from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan

SWYX = "004_46eb3e2f8c217d31.txt"
SPEECHEXEC = "001_e20515c280e58d45.txt"
TIMC = "002_98c5df336de898eb.txt"

ZONES = {
    "phones": {"networks": ["10.20.0.0/16"]},
    "pbx": {"networks": ["10.10.0.0/24"]},
    "servers": {"networks": ["10.40.0.0/24"]},
    "internet": {"external": True},
}
LOCAL_PBX_ENTRIES = ("swyx.other_sip", "swyx.other_rtp_out", "swyx.other_rtp_in", "swyx.other_remote_config_http",
                     "swyx.other_remote_config_https", "swyx.other_phonebook")
PROVIDER_ENTRIES = ("swyx.other_direct_sip", "swyx.other_direct_stun")


def _words(seeds_dir, doc: str) -> str:
    """The document's text with its white space folded, to find a phrase across line breaks."""
    return " ".join((seeds_dir / doc).read_text(encoding="utf-8").split())


def _says(seeds_dir, doc: str, phrase: str) -> str:
    text = _words(seeds_dir, doc)
    assert phrase in text, "%s no longer says %r" % (doc, phrase)
    return text


def _flows(catalog, hosts=None, endpoints=None):
    global_vars = {"voiceops_zones": ZONES, "voiceops_endpoints": endpoints or {}}
    return plan(catalog, build_estate(global_vars, hosts or {}, catalog))["flows"]


# --- 1. direct_trunk ----------------------------------------------------------------------------

def _swyx_estate(fax_features):
    return {
        "swyx_pbx": {"zone": "pbx", "addresses": ["10.10.0.5"], "components": ["swyx_pbx_local"]},
        "hostedpbx": {"zone": "internet", "fqdn": "acme.telovip.de", "components": ["swyx_hostedpbx"]},
        "fax": {"zone": "phones", "addresses": ["10.20.3.0/24"], "components": {"swyx_other_device": {"features": fax_features}}},
        "doors": {"zone": "phones", "addresses": ["10.20.2.0/24"], "components": ["swyx_other_device"]},
    }


def test_a_direct_trunk_adapter_has_no_flows_with_the_local_pbx(catalog, seeds_dir):
    _says(seeds_dir, SWYX, 'Analog-Wandler für Fax-Geräte "direkt" an unser Telefonnetz anbinden')
    _says(seeds_dir, SWYX, "(und nicht als Nebenstelle hinter der Telefonanlage betreiben)")
    _says(seeds_dir, SWYX, "Telefonie (UDP 5060) und das Hilfsprotokoll STUN (UDP 3478) außerhalb des VPN-Routers")
    flows = _flows(catalog, endpoints=_swyx_estate(["direct_trunk"]))
    by_end = {(f["entry"], f["src"]["name"], f["dst"]["name"]) for f in flows}
    fax = {(entry, src, dst) for entry, src, dst in by_end if "fax" in (src, dst)}
    assert fax == {("swyx.other_direct_sip", "fax", "hostedpbx"), ("swyx.other_direct_stun", "fax", "hostedpbx")}
    # the same component without the feature keeps the six flows with the local PBX, and no provider flow
    doors = {entry for entry, src, dst in by_end if "doors" in (src, dst)}
    assert doors == set(LOCAL_PBX_ENTRIES)


def test_without_direct_trunk_the_adapter_is_an_extension_of_the_local_pbx(catalog):
    flows = _flows(catalog, endpoints=_swyx_estate([]))
    fax = {f["entry"] for f in flows if "fax" in (f["src"]["name"], f["dst"]["name"])}
    assert fax == set(LOCAL_PBX_ENTRIES)


def test_every_local_pbx_entry_of_other_devices_names_direct_trunk(catalog):
    """The six entries carry the switch, on the adapter's end whichever way the flow goes."""
    for entry_id in LOCAL_PBX_ENTRIES:
        entry = catalog.entries[entry_id]
        side = entry.src if entry.unless_feature_on == "src" else entry.dst
        assert (entry.unless_feature, side) == ("direct_trunk", "swyx_other_device"), entry_id
    for entry_id in PROVIDER_ENTRIES:
        assert catalog.entries[entry_id].feature == "direct_trunk"


def _tiny(unless: str, on: str = "src"):
    return [("t.yml", {
        "product": {"id": "t"}, "documents": [{"file": "d.txt", "version": "unstated"}],
        "components": {"a": {"features": {"direct": {}}}, "b": {}},
        "flows": [{"id": "t.x", "from": "a", "to": "b", "protocol": "udp", "ports": 1, "service": "x", "purpose": "x.",
                   "unless_feature": unless, "unless_feature_on": on, "cite": {"doc": "d.txt", "section": "1"}}],
    })]


def test_unless_feature_must_name_a_feature_of_that_end():
    assert build_catalog(_tiny("direct")).entries["t.x"].unless_feature == "direct"
    with pytest.raises(VoiceopsError, match=r"t\.yml\.flows\[0\]\.unless_feature: component b \(plays b\) has no such feature"):
        build_catalog(_tiny("direct", "dst"))
    with pytest.raises(VoiceopsError, match=r"t\.yml\.flows\[0\]\.unless_feature_on: must be one of src, dst"):
        build_catalog(_tiny("direct", "both"))


# --- 2. License Server health scan of the Mobile Service -----------------------------------------

def _scan(catalog, features=("health_scan_mobile",), mobile=None):
    lic = {"speechexec_license_server": {"features": list(features)}}
    hosts = {"lic01": {"ansible_host": "10.40.0.10", "voiceops_zone": "servers", "voiceops_components": lic},
             "mob01": {"ansible_host": "10.40.0.20", "voiceops_zone": "servers",
                       "voiceops_components": {"speechexec_mobile_service": mobile or {}}}}
    return [(f["entry"], f["protocol"], f["ports"]) for f in _flows(catalog, hosts=hosts)
            if (f["src"]["name"], f["dst"]["name"]) == ("lic01", "mob01")]


def test_the_mobile_health_scan_opens_the_vendors_default_port_only(catalog, seeds_dir):
    text = _says(seeds_dir, SPEECHEXEC, "2.2.2 Mobile service and Legacy mobile server health scanning (optional) DEFAULT: 80 HTTP •")
    _says(seeds_dir, SPEECHEXEC, "The configurable URL must contain the desired port.")
    section = text.split("2.2.2 Mobile service", 1)[1].split("2.2.3", 1)[0]
    assert "443" not in section and "HTTPS" not in section  # the section names no HTTPS port
    assert _scan(catalog) == [("speechexec.health_scan_mobile_http", "tcp", ["80"])]
    # the scan follows the Mobile Service's HTTP binding, which the URL must then carry
    assert _scan(catalog, mobile={"params": {"http_port": 8080}}) == [("speechexec.health_scan_mobile_http", "tcp", ["8080"])]


@pytest.mark.parametrize("features", [("health_scan_mobile", "health_scan_mobile_https"), ("health_scan_mobile_https",)])
def test_the_mobile_health_scan_opens_443_only_when_the_user_says_the_url_is_https(catalog, features):
    assert _scan(catalog, features) == [("speechexec.health_scan_mobile_https", "tcp", ["443"])]


def test_a_tls_only_mobile_service_is_not_scanned_over_http(catalog):
    """tls_only drops the HTTP scan, and the HTTPS one stays off until the user says the URL is HTTPS."""
    assert _scan(catalog, mobile={"tls_only": True}) == []
    assert _scan(catalog, ("health_scan_mobile", "health_scan_mobile_https"), {"tls_only": True}) == [
        ("speechexec.health_scan_mobile_https", "tcp", ["443"])]


def test_no_scan_item_no_scan_flow(catalog):
    hosts = {"lic01": {"ansible_host": "10.40.0.10", "voiceops_zone": "servers", "voiceops_components": ["speechexec_license_server"]},
             "mob01": {"ansible_host": "10.40.0.20", "voiceops_zone": "servers", "voiceops_components": ["speechexec_mobile_service"]}}
    assert not [f for f in _flows(catalog, hosts=hosts) if f["src"]["name"] == "lic01" and f["dst"]["name"] == "mob01"]


# --- 3. Yealink CTI: the direction the document does not give ------------------------------------

def test_yealink_cti_direction_is_a_reading_stated_once(catalog, seeds_dir):
    text = _says(seeds_dir, SWYX, "UDP 65012 für CTI-Steuerung")
    yealink = text.split("Modellreihen Yealink TxxS", 1)[1].split("Sonstige Endgeräte", 1)[0]
    cti_line = yealink.split("UDP 65012 für CTI-Steuerung", 1)[0].rsplit("•", 1)[1] + "UDP 65012 für CTI-Steuerung"
    assert not re.search(r"ankommend|abgehend|ausgehend|Zielport", cti_line)  # no direction on this line ...
    assert "abgehend" in yealink and "ankommend" in yealink  # ... where the phone's other lines give one
    assert "Anfrage kommt von der Telefonanlage" in yealink  # the PBX is what reaches into the phone
    entries = [e for e in catalog.entries.values() if e.protocol == "udp" and e.ports and (65012, 65012) in e.ports]
    assert [(e.id, e.src, e.dst) for e in entries] == [("swyx.yealink_cti", "swyx_pbx_local", "swyx_yealink_phone")]
    assert entries[0].condition.startswith("Reading (direction):")
    assert "CTI-Steuerung" in entries[0].condition


# --- 4. the audit ---------------------------------------------------------------------------------

def test_timc_audio_direction_is_a_reading(catalog, seeds_dir):
    _says(seeds_dir, TIMC, "audio communications stream directly between the TIM-based telephony board and Speech Server")
    entry = catalog.entries["ms_speech_server.timc_audio"]
    assert "Reading (direction)" in entry.condition
    assert catalog.components["timc"].parameters["audio_ports"].default is None  # nothing planned until the user sets the ports


def test_timc_ipsec_direction_is_a_reading(catalog, seeds_dir):
    _says(seeds_dir, TIMC, "use IP Security Protocol (IPSec) to establish a virtual private network (VPN) between the two endpoints")
    for entry_id in ("ms_speech_server.timc_ike", "ms_speech_server.timc_esp"):
        entry = catalog.entries[entry_id]
        assert (entry.src, entry.dst, entry.feature) == ("timc", "speech_server", "ipsec")
        assert "Reading (direction)" in entry.condition, entry_id


@pytest.mark.parametrize("section,entries", [
    ("3.2.2 SpeechLive Service communication (optional) DEFAULT: 80 HTTP, 443 HTTPS",
     ("speechexec.mobile_speechlive_http", "speechexec.mobile_speechlive_https")),
    ("5.2.2 SpeechLive Service communication (optional) DEFAULT: 80 HTTP, 443 HTTPS",
     ("speechexec.webaccess_speechlive_http", "speechexec.webaccess_speechlive_https")),
    ("2.2.1 Workflow Manager health scanning (optional) DEFAULT: 49256 TCP, 80 HTTP",
     ("speechexec.health_scan_workflow", "speechexec.health_scan_workflow_http")),
    ("2.2.3 Email sending (optional) DEFAULT: 587, 25 SMTP", ("speechexec.email_smtp",)),
    ("2.2.2 Mobile service and Legacy mobile server health scanning (optional) DEFAULT: 80 HTTP",
     ("speechexec.health_scan_mobile_http",)),
])
def test_a_feature_switches_on_what_its_section_names(catalog, seeds_dir, section, entries):
    """Each feature of 001 plans the entries of one section, and that section names every port they open."""
    _says(seeds_dir, SPEECHEXEC, section)
    features = {catalog.entries[e].feature for e in entries}
    assert len(features) == 1
    feature = features.pop()
    switched = sorted(e.id for e in catalog.entries.values() if e.feature == feature and e.cite.doc == SPEECHEXEC
                      and e.src == catalog.entries[entries[0]].src)
    assert switched == sorted(entries)
    defaults = section.split("DEFAULT:", 1)[1]
    for entry_id in entries:
        entry = catalog.entries[entry_id]
        role = entry.dst if entry.param_on == "dst" else entry.src
        ports = entry.ports or catalog.components[catalog.role_players(role)[0]].parameters[entry.param].default
        for lo, hi in ports:
            assert str(lo) in defaults and str(hi) in defaults, (entry_id, lo, hi)


def test_direct_trunk_switches_on_what_the_note_names(catalog, seeds_dir):
    _says(seeds_dir, SWYX, "Telefonie (UDP 5060) und das Hilfsprotokoll STUN (UDP 3478)")
    switched = sorted((e.protocol, e.ports) for e in catalog.entries.values() if e.feature == "direct_trunk")
    assert switched == [("udp", ((3478, 3478),)), ("udp", ((5060, 5060),))]


# --- 5. document versions ---------------------------------------------------------------------------

def test_every_document_records_its_version_as_the_vendor_states_it(catalog, seeds_dir):
    assert set(catalog.versions) == set(catalog.documents)
    _says(seeds_dir, SWYX, "(Stand 04/2020)")
    assert catalog.versions[SWYX] == "Stand 04/2020"
    for doc, version in catalog.versions.items():
        if doc == SWYX:
            continue
        assert version == "unstated", doc
        path = seeds_dir / doc
        if path.is_file():  # a seed document whose heading states no date or version of itself
            head = "\n".join(path.read_text(encoding="utf-8").splitlines()[:6])
            assert not re.search(r"Stand |as of|[Vv]ersion \d|\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}", head), doc


def test_two_files_must_agree_on_a_documents_version():
    files = [("a.yml", {"product": {"id": "a"}, "documents": [{"file": "d.txt", "version": "1.0"}]}),
             ("b.yml", {"product": {"id": "b"}, "documents": [{"file": "d.txt", "version": "2.0"}]})]
    with pytest.raises(VoiceopsError, match=r"b\.yml\.documents\[0\]\.version: another catalog file records version '1\.0' of d\.txt"):
        build_catalog(files)


def test_a_version_is_one_line_of_text():
    files = [("a.yml", {"product": {"id": "a"}, "documents": [{"file": "d.txt", "version": "1\n2"}]})]
    with pytest.raises(VoiceopsError, match=r"a\.yml\.documents\[0\]\.version: one line of text"):
        build_catalog(files)


# --- 5. a catalog folder instead of the built-in one (the catalog diff's base) -----------------------

def test_a_catalog_folder_replaces_the_built_in_catalog(catalog, tmp_path):
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import BUILTIN_DIR, load_catalog

    (tmp_path / "swyx.yml").write_text((BUILTIN_DIR / "swyx.yml").read_text(encoding="utf-8"), encoding="utf-8")
    only_swyx = load_catalog(directory=str(tmp_path))
    assert set(only_swyx.products) == {"swyx"}
    assert only_swyx.entries["swyx.yealink_cti"] == catalog.entries["swyx.yealink_cti"]


@pytest.mark.parametrize("value,why", [
    ("catalog", "catalog_dir: an absolute folder (got 'catalog')"),
    ("/nonexistent/voiceops-catalog", "catalog_dir: no such folder (got '/nonexistent/voiceops-catalog')"),
    ("/tmp\n/x", "catalog_dir: one line of text without control characters"),
    (["/tmp"], "catalog_dir: text (a string)"),
])
def test_a_bad_catalog_folder_is_named(value, why):
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog

    with pytest.raises(VoiceopsError) as info:
        load_catalog(directory=value)
    assert why in str(info.value)


def test_a_folder_without_catalog_files_is_refused(tmp_path):
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog

    with pytest.raises(VoiceopsError, match=r"catalog_dir: no catalog files \(\*\.yml\) in this folder"):
        load_catalog(directory=str(tmp_path))
