// The Fashion.AI profile after lenient parsing (src/fashionai/schema.ts): every field is either of its
// documented type or absent. Strings are raw (not yet cleaned); mapping modules clean them.
// Keys are the API's own (NFC-normalised), so a reader can match them against the API docs.

export interface Occasion {
  "ocasião"?: string;
  "persona_na_ocasião"?: string;
  sugestao_look?: string[];
}

export interface ProfileBody {
  perfil_cliente?: {
    descricao_geral?: string;
    estilo_geral?: string;
  };
  ocasioes_relevantes?: Occasion[];
  briefing_marketing?: {
    tom_de_voz?: string[];
    direcao_visual?: string[];
    orientacao_campanhas?: string[];
  };
  ganchos_conteudo?: string[];
  momento_compra_atual?: {
    navegacoes?: string[];
    resumo_momento?: string;
    relacao_com_historico?: string;
    novo_comportamento?: boolean;
    oportunidades?: string[];
  };
}

export interface ParsedProfile {
  userProfileId: string;
  profile: ProfileBody;
}

/** Result of parsing one API body: the usable profile plus one warning per field that was skipped. */
export interface ParseResult {
  profile: ParsedProfile;
  warnings: string[];
}
