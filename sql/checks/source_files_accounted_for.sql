-- Every file in the manifest is an article capture or a reject, exactly one of them, but
-- for a reject that kept the capture archived from its earlier content: it names that
-- capture's story, and the capture is there (sql/load/10_affected.sql).
select s.source_path, s.outcome
from checked_source_files as s
left join captures as c using (source_path)
left join rejects as j using (source_path)
where (s.outcome = 'rejected') <> (j.source_path is not null)
    or (s.article_id is not null) <> (c.source_path is not null)
    or (s.outcome = 'article' and c.source_path is null)
    or c.article_id is distinct from s.article_id;
