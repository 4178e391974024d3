-- A title reduced to what survives retyping: lower case, no accents, letters and digits
-- separated by single spaces, so that ’ and ', — and -, or a trailing space do not matter.
create or replace macro normalized_title(title) as
    trim(regexp_replace(lower(strip_accents(title)), '[^\pL\pN]+', ' ', 'g'));

comment on macro normalized_title is 'normalized_title(title): the title in lower case without accents, punctuation or extra spaces, for matching titles retyped by hand.';
