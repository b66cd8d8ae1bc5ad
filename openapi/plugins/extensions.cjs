// Redocly plugin: the types of pvd-api's own extensions, so that Redocly checks and bundles
// them like the objects they are. `x-reponses-generiques` (root) is a Responses map: typed,
// its local $refs stay refs in the bundle; untyped, `redocly bundle` would inline them and
// the served document would change.
module.exports = function pvdExtensions() {
  return {
    id: "pvd-extensions",
    typeExtension: {
      oas3(types) {
        return {
          ...types,
          Root: {
            ...types.Root,
            properties: { ...types.Root.properties, "x-reponses-generiques": "Responses" },
          },
        };
      },
    },
  };
};
