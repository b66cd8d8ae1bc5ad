// Seeds, through the API, the plan d'action measured by the `maquette` line of
// tests/bench/bench.sh: territoire pvd-44-08-990 (Rethel, 08362, CC du Pays
// Rethélois 200043156), three axes and 200 fiches action with their
// échéancier (1 to 4 years in 2024–2029) and 3 or 4 financing lines of
// several statuts and financeurs (the shape of tests/integration/
// test_maquette.c). Idempotent: what exists is kept (the bench database is
// reused), missing fiches are created.
//
//   node tests/bench/maquette_seed.mjs API_URL BEARER_TOKEN  → prints the id_pvd
const [api, token] = process.argv.slice(2);
if (!api || !token) {
  console.error("usage: maquette_seed.mjs API_URL BEARER_TOKEN");
  process.exit(2);
}
const ID_PVD = "pvd-44-08-990";
const FICHES = 200;
const STATUTS = ["envisage", "sollicite", "accorde", "refuse", "verse_partiel", "solde"];

async function call(method, path, body) {
  const res = await fetch(api + path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body ? { "Content-Type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

function must(r, what, ...ok) {
  if (!ok.includes(r.status)) {
    console.error(`maquette_seed: ${what}: ${r.status} ${JSON.stringify(r.json)}`);
    process.exit(1);
  }
  return r;
}

async function organisation(siren, nature, nom) {
  const r = must(await call("POST", "/api/v1/organisations", { siren, nature, nom }),
    `organisation ${siren}`, 201, 409);
  if (r.status === 201) return r.json.id;
  const l = must(await call("GET", `/api/v1/organisations?siren=${siren}`), "organisations", 200);
  return l.json.elements[0].id;
}

must(await call("POST", "/api/v1/territoires", {
  id_pvd: ID_PVD, communes: ["08362"], epcis: ["200043156"], date_designation: "2020-12-15",
}), `territoire ${ID_PVD}`, 201, 409);
const commune = await organisation("210803268", "commune", "Rethel");
const financeurs = [
  await organisation("200052264", "region", "Région Grand Est"),
  await organisation("220800015", "departement", "Département des Ardennes"),
  await organisation("552100554", "entreprise", "Entreprise mécène"),
];
const axesPath = `/api/v1/territoires/${ID_PVD}/axes-strategiques`;
const axes = new Map(
  must(await call("GET", axesPath), "axes", 200).json.elements.map((a) => [a.numero, a.id]));
for (let n = 1; n <= 3; n++) {
  if (axes.has(n)) continue;
  const r = must(await call("POST", axesPath, { numero: n, intitule: `Axe ${n}`, enjeux: "Enjeux" }),
    `axe ${n}`, 201);
  axes.set(n, r.json.id);
}
const plan = must(await call("GET", `/api/v1/territoires/${ID_PVD}/plan-action`), "plan", 200);
if (plan.json.nombre_fiches < FICHES) {
  for (let i = 0; i < FICHES; i++) {
    const cout = 1000000 + i * 12345, years = 1 + (i % 4), start = 2024 + (i % 3);
    const weights = (years * (years + 1)) / 2;
    const echeancier = [];
    let rest = cout;
    for (let k = 0; k < years; k++) {
      const part = k === years - 1 ? rest : Math.floor((cout * (k + 1)) / weights);
      rest -= part;
      echeancier.push({ annee: start + k, montant_centimes: part });
    }
    const ligne = (financeur_id, dispositif, nature_financeur, pct, statut) => ({
      financeur_id, dispositif, nature_financeur,
      montant_centimes: Math.floor((cout * pct) / 100), statut,
    });
    const plan_financement = [
      ligne(commune, "autofinancement", "public", 30, ["sollicite", "accorde", "solde"][i % 3]),
      ligne(financeurs[0], "region", "public", 40, STATUTS[i % 6]),
      ligne(financeurs[1], "departement", "public", 20, STATUTS[(i + 2) % 6]),
    ];
    if (i % 4 === 0) plan_financement.push(ligne(financeurs[2], "prive", "prive", 10, "accorde"));
    must(await call("POST", "/api/v1/fiches-action", {
      id_pvd: ID_PVD, numero: String(i + 1).padStart(3, "0"), intitule: `Fiche ${i + 1}`,
      axe_id: axes.get(1 + (i % 3)), description: "Description", objectifs: "Objectifs",
      maitre_ouvrage_id: commune, nature_depense: "investissement",
      cout_total_ht_centimes: cout, localisation_commune_insee: "08362", echeancier,
      plan_financement,
    }), `fiche ${i + 1}`, 201, 409);
  }
}
process.stdout.write(`${ID_PVD}\n`);
