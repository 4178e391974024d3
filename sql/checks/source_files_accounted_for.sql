-- Every file in the manifest is an article capture or a reject, exactly one of them.
select s.source_path, s.outcome
from checked_source_files as s
left join captures as c using (source_path)
left join rejects as j using (source_path)
where (s.outcome = 'article') <> (c.source_path is not null)
    or (s.outcome = 'rejected') <> (j.source_path is not null)
    or (s.outcome = 'article' and c.article_id is distinct from s.article_id);
